package zmq

// source reads one connection's messages (SUB from a PUB, PULL from a PUSH)
// and hands them to the inbox.
//
// A Dragonflow message is exactly two frames, [topic, msgpack body]. The
// frame topic is what subscriptions match; the body's topic is what the
// event is tracked and delivered under (dragonflow.md §3.2). Each body is
// decoded once, here, straight out of the read buffer. Decoded events are
// batched and handed over when the batch is full or before the reader would
// block on the socket, so a burst costs one inbox lock round.
//
// Bad input drops only what is bad: a message that is not exactly two
// frames, or whose body DecodeBody refuses, is dropped, counted, logged
// (rate-limited) and reported as GapMalformed for that publisher and frame
// topic (Dragonflow resynced on such messages; the gap lets the consumer do
// a targeted resync instead), and the connection goes on. Broken framing
// (bad flags, oversized or truncated frames, malformed commands) ends the
// connection: the caller gets the error.

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

const (
	sourceBatch  = 256
	badLogEvery  = 10 * time.Second
	maxGapTopics = 255 // a malformed message's frame topic is cut to this
)

type source struct {
	in       *inbox
	log      *slog.Logger
	pubID    string // the endpoint's publisher id, "" for a PULL peer
	endpoint string // Event.Endpoint
	// authenticated: Event.Authenticated (a CURVE connection whose server
	// proved the key this subscriber trusts).
	authenticated bool
	v2            bool // the peer may send sequence heartbeats
	batch         []item
	ov            *overflow
	topic         []byte
	dec           bodyDecoder
	lastBad       time.Time
	// nreceived is added to the inbox's counter with each hand-over, not
	// per event (see inbox.ndelivered).
	nreceived uint64
}

func newSource(in *inbox, log *slog.Logger, pubID, endpoint string, v2peer bool) *source {
	s := &source{in: in, log: log, pubID: pubID, endpoint: endpoint, v2: v2peer}
	if in.borrow {
		s.dec.vals.pool = &in.slabs
	}
	return s
}

// flush hands the batch to the inbox.
func (s *source) flush() {
	s.countReceived()
	if len(s.batch) > 0 || s.ov != nil {
		s.in.push(s, false)
	}
}

// close hands over what is left, including a pending overflow marker.
func (s *source) close() {
	s.countReceived()
	s.in.push(s, true)
	s.dec.vals.retire()
}

func (s *source) countReceived() {
	if s.nreceived > 0 {
		s.in.received.Add(s.nreceived)
		s.nreceived = 0
	}
}

func (s *source) add(it item) {
	s.batch = append(s.batch, it)
	if len(s.batch) >= sourceBatch {
		s.flush()
	}
}

// readLoop reads frames until an error, which it returns. Commands go to
// onCommand; an error from it ends the loop.
func (s *source) readLoop(r *zmtp.Reader, onCommand func(zmtp.Command) error) error {
	r.SetFillHook(s.flush)
	defer r.SetFillHook(nil)
	parts := 0
	for {
		f, err := r.ReadFrame()
		if err != nil {
			return err
		}
		if f.IsCommand() {
			cmd, err := zmtp.ParseCommand(f.Body)
			if err != nil {
				return err
			}
			if err := onCommand(cmd); err != nil {
				return err
			}
			continue
		}
		parts++
		switch {
		case parts == 1:
			s.topic = append(s.topic[:0], f.Body...)
		case parts == 2 && !f.More():
			s.dec.ahead = r.Buffered() // sizes the Value slab to this read
			s.message(f.Body)
		}
		if !f.More() {
			if parts != 2 {
				s.malformed("message of %d frames", parts)
				s.in.badMessages.Add(1)
			}
			parts = 0
		}
	}
}

// message handles a complete [topic, body] message.
func (s *source) message(body []byte) {
	if s.v2 && string(s.topic) == hbTopic {
		hb, err := parseHeartbeat(body)
		if err != nil {
			s.in.decodeErrors.Add(1)
			s.logBad("heartbeat dropped", err)
			return
		}
		s.in.heartbeats.Add(1)
		s.add(item{kind: kHeartbeat, ctl: &control{hb: hb}})
		return
	}
	s.batch = append(s.batch, item{kind: kEvent})
	it := &s.batch[len(s.batch)-1]
	if err := s.dec.decode(body, &it.ev.Update, &it.ev.Meta); err != nil {
		s.batch = s.batch[:len(s.batch)-1]
		s.in.decodeErrors.Add(1)
		s.malformed("body does not decode: %v", err)
		return
	}
	s.nreceived++
	it.slab = s.dec.slab
	it.ev.Endpoint = s.endpoint
	it.ev.Authenticated = s.authenticated
	if string(s.topic) != it.ev.Update.TopicOrDefault() {
		it.ctl = &control{ftopic: string(s.topic)}
	}
	if len(s.batch) >= sourceBatch {
		s.flush()
	}
}

// malformed drops a message: logged, and reported as a gap of the publisher
// on the message's frame topic.
func (s *source) malformed(format string, arg any) {
	topic := s.topic
	if len(topic) > maxGapTopics {
		topic = topic[:maxGapTopics]
	}
	s.logBad("message dropped", fmt.Errorf(format, arg))
	s.add(item{kind: kGap, ctl: &control{gap: pubsub.Gap{
		Reason: pubsub.GapMalformed, PublisherID: s.pubID, Topic: string(topic), Lost: 1,
	}}})
}

func (s *source) logBad(msg string, err error) {
	if now := time.Now(); now.Sub(s.lastBad) >= badLogEvery {
		s.lastBad = now
		s.log.Warn(msg, "endpoint", s.endpoint, "err", err,
			"decode_errors", s.in.decodeErrors.Load(), "bad_messages", s.in.badMessages.Load())
	}
}
