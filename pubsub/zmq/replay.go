package zmq

// Replay buffer and resume: how a v2 subscriber that restarted (or
// reconnected) gets the events it missed without a full re-download.
//
// The publisher keeps, per topic, the last encoded messages it stamped with
// their seqs (bounded per topic in count and across topics in bytes; the
// oldest message of all goes first when the byte bound is reached). A v2
// subscriber that knows its position — (publisher epoch, last seq applied)
// per topic — sends it right after the handshake, BEFORE its subscriptions,
// as a ZMTP command of our own, DFRESUME, whose data is the heartbeat's
// msgpack map {pub_id, epoch, seqs: {topic: last seq}, dropped: 0}. It is
// sent only to a peer that announced X-Df-Version in READY, so libzmq and
// Python peers never see it (RFC 37 lets a peer ignore a command it does not
// know, and our own PUBs of before this extension ignore it; the name keeps
// to RFC 23's command-name grammar, letters only). A reserved subscription
// prefix was not chosen: it would be a real subscription to any PUB that
// does not know it, and would pollute our own publisher's prefix set.
//
// The publisher records the positions on the connection when the epoch and
// publisher id match its own (else it ignores them: a new incarnation has
// nothing of the old one). When a SUBSCRIBE makes the connection match a
// recorded topic, under the publisher's lock — so no event of the topic can
// be routed to the connection between the two — it queues on that
// connection, before any new event, the buffered messages of the topic with
// seq > last, provided the buffer still holds last+1 (or last is the newest
// seq: nothing missed). Otherwise it replays nothing; the subscriber, whose
// tracker was seeded with the same positions, reports the jump of the first
// event (GapSeq) or of a heartbeat (GapHeartbeat): the consumer's targeted
// resync is the fallback. Seeding also makes the tracker refuse anything at
// or below a resumed position, so nothing is delivered twice.

import "github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"

const (
	// cmdResume is the command carrying resume positions (v2 peers only).
	cmdResume = "DFRESUME"
	// DefaultReplayPerTopic and DefaultReplayBytes are the replay buffer's
	// default bounds.
	DefaultReplayPerTopic = 4096
	DefaultReplayBytes    = 16 << 20
	// maxResumeTopics bounds the positions one connection may record.
	maxResumeTopics = 1 << 16
)

type replayEntry struct {
	seq, gen uint64
	msg      []byte
}

type replayTopic struct {
	last uint64 // last seq stamped on the topic
	ents []replayEntry
	head int
}

func (t *replayTopic) n() int { return len(t.ents) - t.head }

// evictHead drops the oldest entry and returns its size.
func (t *replayTopic) evictHead() int {
	sz := len(t.ents[t.head].msg)
	t.ents[t.head] = replayEntry{}
	t.head++
	if t.head == len(t.ents) {
		t.ents, t.head = t.ents[:0], 0
	} else if t.head >= 64 && t.head*2 >= len(t.ents) {
		n := copy(t.ents, t.ents[t.head:])
		clear(t.ents[n:])
		t.ents, t.head = t.ents[:n], 0
	}
	return sz
}

type replayRef struct {
	t   *replayTopic
	gen uint64
}

// replayBuffer is a publisher's replay buffer. Not safe for concurrent use:
// the publisher's lock guards it. Messages are the immutable wire messages
// also queued to subscribers (shared, not copied); bytes counts their
// lengths.
type replayBuffer struct {
	perTopic, maxBytes int
	topics             map[string]*replayTopic
	fifo               []replayRef // every message in stamp order (stale refs skipped)
	fifoHead           int
	gen                uint64
	live, bytes        int
	evicted            uint64
}

func newReplayBuffer(perTopic, maxBytes int) *replayBuffer {
	if perTopic <= 0 || maxBytes <= 0 {
		return nil
	}
	return &replayBuffer{perTopic: perTopic, maxBytes: maxBytes, topics: map[string]*replayTopic{}}
}

// add records msg, the message of seq on topic.
func (b *replayBuffer) add(topic string, seq uint64, msg []byte) {
	t := b.topics[topic]
	if t == nil {
		t = &replayTopic{}
		b.topics[topic] = t
	}
	t.last = seq
	if len(msg) > b.maxBytes {
		// Cannot be held: what is held of the topic no longer leads up to
		// the newest seq, so none of it can cover a resume.
		for t.n() > 0 {
			b.bytes -= t.evictHead()
			b.live--
			b.evicted++
		}
		return
	}
	b.gen++
	t.ents = append(t.ents, replayEntry{seq: seq, gen: b.gen, msg: msg})
	b.fifo = append(b.fifo, replayRef{t, b.gen})
	b.live++
	b.bytes += len(msg)
	if t.n() > b.perTopic {
		b.bytes -= t.evictHead()
		b.live--
		b.evicted++
	}
	for b.bytes > b.maxBytes && b.fifoHead < len(b.fifo) {
		ref := b.fifo[b.fifoHead]
		b.fifo[b.fifoHead] = replayRef{}
		b.fifoHead++
		if ref.t.n() > 0 && ref.t.ents[ref.t.head].gen == ref.gen {
			b.bytes -= ref.t.evictHead()
			b.live--
			b.evicted++
		}
	}
	// Compact the stamp-order list: stale refs (evicted per topic) must not
	// pile up.
	if q := len(b.fifo) - b.fifoHead; q > 2*b.live+64 {
		out := b.fifo[:0]
		for _, ref := range b.fifo[b.fifoHead:] {
			if ref.t.n() > 0 && ref.gen >= ref.t.ents[ref.t.head].gen {
				out = append(out, ref)
			}
		}
		clear(b.fifo[len(out):])
		b.fifo, b.fifoHead = out, 0
	} else if b.fifoHead == len(b.fifo) {
		b.fifo, b.fifoHead = b.fifo[:0], 0
	}
}

// since returns the messages of topic with seq > last, and whether they
// cover everything after last (false: the buffer no longer holds last+1,
// or never saw topic up to last; replay nothing then).
func (b *replayBuffer) since(topic string, last uint64) ([][]byte, bool) {
	if b == nil {
		return nil, false
	}
	t := b.topics[topic]
	if t == nil {
		return nil, last == 0
	}
	switch {
	case last == t.last:
		return nil, true
	case last > t.last || t.n() == 0 || t.ents[t.head].seq > last+1:
		return nil, false
	}
	ents := t.ents[t.head:]
	i := int(last + 1 - ents[0].seq) // contiguous seqs
	out := make([][]byte, 0, len(ents)-i)
	for _, e := range ents[i:] {
		out = append(out, e.msg)
	}
	return out, true
}

// stats returns the held messages and bytes and the evicted count.
func (b *replayBuffer) stats() (held, bytes int, evicted uint64) {
	if b == nil {
		return 0, 0, 0
	}
	return b.live, b.bytes, b.evicted
}

// appendResume appends DFRESUME commands carrying the positions of pubID in
// epoch, at most hbMaxTopics topics each.
func appendResume(dst []byte, pubID string, epoch uint64, seqs map[string]uint64) []byte {
	hb := heartbeat{pubID: pubID, epoch: epoch}
	flush := func() {
		dst = zmtp.AppendCommand(dst, cmdResume, appendHeartbeat(nil, &hb))
		hb.seqs = hb.seqs[:0]
	}
	for t, s := range seqs {
		hb.seqs = append(hb.seqs, topicSeq{t, s})
		if len(hb.seqs) == hbMaxTopics {
			flush()
		}
	}
	if len(hb.seqs) > 0 {
		flush()
	}
	return dst
}
