package deliver_test

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

// recorder records a sink's callbacks in order.
type recorder struct{ calls []any }

func (r *recorder) sink() *deliver.Sink {
	return deliver.NewSink("test", nil,
		func(ev pubsub.Event) { r.calls = append(r.calls, ev) },
		func(g pubsub.Gap) { r.calls = append(r.calls, g) })
}

func event(pub string, epoch, seq uint64) pubsub.Event {
	return pubsub.Event{Update: model.DbUpdate{Key: "k"}, Meta: meta(pub, epoch, seq), Endpoint: "uri"}
}

func TestSinkObserveGapBeforeEvent(t *testing.T) {
	var r recorder
	s := r.sink()
	s.Observe(event("p", 1, 1), "T")
	s.Observe(event("p", 1, 4), "T")
	s.Observe(event("p", 1, 4), "T") // a duplicate: not delivered
	require.Len(t, r.calls, 3)
	require.Equal(t, event("p", 1, 1), r.calls[0])
	g := r.calls[1].(pubsub.Gap)
	require.Equal(t, pubsub.GapSeq, g.Reason)
	require.Equal(t, "p", g.PublisherID)
	require.Equal(t, uint64(2), g.Lost)
	require.Equal(t, event("p", 1, 4), r.calls[2])

	// An event without Meta is delivered untracked.
	s.Observe(pubsub.Event{Update: model.DbUpdate{Key: "v1"}}, "T")
	require.Len(t, r.calls, 4)
}

func TestSinkOverflowTracked(t *testing.T) {
	var r recorder
	s := r.sink()
	s.Observe(event("p", 1, 1), "T")
	s.Overflow(deliver.Overflow{Key: deliver.Key{Pub: "p", Epoch: 1, Topic: "T"}, Count: 3, Last: 4})
	s.Observe(event("p", 1, 5), "T") // no GapSeq: the overflow advanced the Tracker
	require.Len(t, r.calls, 3)
	g := r.calls[1].(pubsub.Gap)
	require.Equal(t, pubsub.GapOverflow, g.Reason)
	require.Equal(t, "p", g.PublisherID)
	require.Equal(t, "T", g.Topic)
	require.Equal(t, uint64(3), g.Lost)
	require.Equal(t, event("p", 1, 5), r.calls[2])
}

func TestSinkOverflowUntracked(t *testing.T) {
	var r recorder
	s := r.sink()
	s.Overflow(deliver.Overflow{Key: deliver.Key{Pub: "p", Epoch: 1, Topic: "T"}, Count: 3, Last: 3})
	require.Equal(t, []any{pubsub.Gap{Reason: pubsub.GapOverflow, PublisherID: "p", Topic: "T", Lost: 3}}, r.calls)
}

func TestSinkGapWithoutOnGapLogs(t *testing.T) {
	var buf bytes.Buffer
	s := deliver.NewSink("drv", slog.New(slog.NewTextHandler(&buf, nil)), func(pubsub.Event) {}, nil)
	s.Gap(pubsub.Gap{Reason: pubsub.GapReconnect, Err: errors.New("boom")})
	require.Contains(t, buf.String(), "drv: subscriber lost events")
	require.Contains(t, buf.String(), "boom")
	// A nil logger discards.
	deliver.NewSink("drv", nil, func(pubsub.Event) {}, nil).Gap(pubsub.Gap{Reason: pubsub.GapReconnect})
}

// A publisher registered anew (another generation) starts from a new
// baseline; the same generation keeps the Tracker's state.
func TestSinkPublisherGen(t *testing.T) {
	var r recorder
	s := r.sink()
	s.PublisherGen("p", 1)
	s.Observe(event("p", 1, 1), "T")
	s.PublisherGen("p", 1)
	s.Observe(event("p", 1, 3), "T") // GapSeq
	s.PublisherGen("p", 2)
	s.Observe(event("p", 1, 9), "T") // new baseline: no gap
	require.Len(t, r.calls, 4)
	require.Equal(t, pubsub.GapSeq, r.calls[1].(pubsub.Gap).Reason)
	require.Equal(t, event("p", 1, 9), r.calls[3])
}

// A topic received through another registration starts from a new
// baseline, for every publisher, on that topic only.
func TestSinkTopicReg(t *testing.T) {
	var r recorder
	s := r.sink()
	a1, a2, b := new(int), new(int), new(int)
	s.TopicReg("A", a1)
	s.Observe(event("p", 1, 1), "A")
	s.TopicReg("B", b)
	s.Observe(event("p", 1, 1), "B") // seqs are per topic
	s.TopicReg("A", a1)
	s.Observe(event("p", 1, 2), "A")
	require.Len(t, r.calls, 3, "same registrations: no gap")

	s.TopicReg("A", a2)
	s.Observe(event("p", 1, 10), "A") // new baseline on A
	require.Len(t, r.calls, 4)
	s.TopicReg("B", b)
	s.Observe(event("p", 1, 12), "B") // B still tracked: seqs 2..11 missing
	require.Len(t, r.calls, 6)
	require.Equal(t, pubsub.GapSeq, r.calls[4].(pubsub.Gap).Reason)
	require.Equal(t, "B", r.calls[4].(pubsub.Gap).Topic)
}
