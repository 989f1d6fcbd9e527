package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// topicWatch is one registration of a topic and its watch goroutine.
type topicWatch struct {
	topic string
	key   string
	ctx   context.Context // canceled by UnregisterTopic or Close
	// cancel ends the watch.
	cancel context.CancelFunc
	// start is the first revision watched.
	start int64

	// Owned by the merge goroutine: every event of the key up to mark has
	// been received (those not yet merged wait in pending, in revision
	// order).
	mark    int64
	pending []entry
}

func newTopicWatch(life context.Context, topic string, rev int64) *topicWatch {
	ctx, cancel := context.WithCancel(life)
	return &topicWatch{topic: topic, key: Key(topic), ctx: ctx, cancel: cancel, start: rev + 1, mark: rev}
}

// entry is one thing a topic's watch received, at revision rev: a Put's
// value, or a gap (history lost to compaction, at or below rev).
type entry struct {
	rev   int64
	value []byte
	gap   *pubsub.Gap
}

// watchMsg is what a watch goroutine sends the merge goroutine: entries in
// revision order, and mark, the revision up to which the watch has
// received everything.
type watchMsg struct {
	tw      *topicWatch
	entries []entry
	mark    int64
}

// watch is the watch goroutine of tw: it watches tw.key from the revision
// after the last one received, and restarts the watch on any error: at
// once when history was compacted (after reporting what was lost), after a
// jittered backoff otherwise. The etcd client itself resumes a watch over a
// broken connection; the watch channel ends on errors it does not resume
// from (a member without leader: WithRequireLeader, etcd-io/etcd#8980).
func (s *Subscriber) watch(tw *topicWatch) {
	defer s.wg.Done()
	w := watchState{next: tw.start}
	for attempt := 0; ; {
		err := s.watchOnce(tw, &w)
		if tw.ctx.Err() != nil {
			return
		}
		var c compacted
		if errors.As(err, &c) {
			if err = s.recover(tw, &w, c.rev); err == nil {
				attempt = 0
				continue
			}
		}
		attempt++
		delay := retryDelay(attempt)
		s.log.Warn("etcd: topic watch ended; resuming", "topic", tw.topic, "from_revision", w.next,
			"retry_in", delay, "err", err)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-tw.ctx.Done():
			t.Stop()
			return
		}
	}
}

// watchState is what a watch goroutine remembers across watches: the next
// revision to watch from, and the key's create revision and version at the
// last Put received (to count what a compaction took).
type watchState struct {
	next                int64
	lastCreate, lastVer int64
}

// compacted is the error of a watch whose start revision was compacted.
type compacted struct{ rev int64 }

func (c compacted) Error() string {
	return fmt.Sprintf("history compacted up to revision %d", c.rev)
}

// watchOnce runs one etcd watch from w.next until it ends; w.next follows
// what was received.
func (s *Subscriber) watchOnce(tw *topicWatch, w *watchState) error {
	ctx, cancel := context.WithCancel(clientv3.WithRequireLeader(tw.ctx))
	defer cancel()
	for wr := range s.cli.Watch(ctx, tw.key, clientv3.WithRev(w.next)) {
		switch {
		case wr.CompactRevision != 0:
			return compacted{wr.CompactRevision}
		case wr.Canceled || wr.Err() != nil:
			if err := wr.Err(); err != nil {
				return err
			}
			return errors.New("watch canceled by the server")
		case wr.IsProgressNotify():
			// Everything of the key up to the header revision has come.
			if rev := wr.Header.Revision; rev >= w.next {
				w.next = rev + 1
				if !s.send(watchMsg{tw: tw, mark: rev}) {
					return nil
				}
			}
			continue
		}
		m := watchMsg{tw: tw, entries: make([]entry, 0, len(wr.Events))}
		for _, ev := range wr.Events {
			kv := ev.Kv
			if ev.Type == mvccpb.PUT {
				m.entries = append(m.entries, entry{rev: kv.ModRevision, value: kv.Value})
				w.lastCreate, w.lastVer = kv.CreateRevision, kv.Version
			}
			m.mark = kv.ModRevision
			w.next = kv.ModRevision + 1
		}
		if m.mark != 0 && !s.send(m) {
			return nil
		}
	}
	if err := tw.ctx.Err(); err != nil {
		return err
	}
	return errors.New("etcd closed the watch channel")
}

// send hands m to the merge goroutine; false when the watch is over.
func (s *Subscriber) send(m watchMsg) bool {
	select {
	case s.in <- m:
		return true
	case <-m.tw.ctx.Done():
		return false
	}
}

// recover handles a watch from w.next that failed because history was
// compacted up to revision compactRev: it reads the key at compactRev (or,
// if that was compacted too, now) and, if the key was written at w.next or
// later, sends a gap of the topic (GapReconnect: the watch lost its
// place). Lost is the number of Puts missed when the key's version tells
// it (same key incarnation), else 0 (unknown). The watch then resumes
// after the revision read: nothing at or below it is missed unreported,
// and nothing is reported lost when nothing was.
func (s *Subscriber) recover(tw *topicWatch, w *watchState, compactRev int64) error {
	ctx, cancel := context.WithTimeout(tw.ctx, revisionTimeout)
	defer cancel()
	at := compactRev
	resp, err := s.cli.Get(ctx, tw.key, clientv3.WithRev(compactRev))
	if errors.Is(err, rpctypes.ErrCompacted) { // compacted again meanwhile
		resp, err = s.cli.Get(ctx, tw.key)
		if err == nil {
			at = resp.Header.Revision
		}
	}
	if err != nil {
		return fmt.Errorf("read %s after a compaction: %w", tw.key, err)
	}
	m := watchMsg{tw: tw, mark: at}
	if len(resp.Kvs) > 0 && resp.Kvs[0].ModRevision >= w.next {
		kv := resp.Kvs[0]
		var lost uint64
		if w.lastCreate != 0 && kv.CreateRevision == w.lastCreate && kv.Version > w.lastVer {
			lost = uint64(kv.Version - w.lastVer)
		}
		g := pubsub.Gap{Reason: pubsub.GapReconnect, Topic: tw.topic, Lost: lost,
			Err: fmt.Errorf("etcd: watch %s from revision %d: %w (history compacted up to revision %d)",
				tw.key, w.next, rpctypes.ErrCompacted, compactRev)}
		m.entries = []entry{{rev: at, gap: &g}}
		w.lastCreate, w.lastVer = kv.CreateRevision, kv.Version
	}
	s.log.Info("etcd: topic watch resumes after a compaction", "topic", tw.topic,
		"from_revision", w.next, "compacted_to", compactRev, "resume_at", at+1, "lost", len(m.entries) > 0)
	w.next = at + 1
	if !s.send(m) {
		return tw.ctx.Err()
	}
	return nil
}
