package pubservice

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/recorder"
)

func newTestRelay() (*relay, *recorder.Recorder, *counters) {
	rec := recorder.New(pubsub.PublisherConfig{ID: "svc", Epoch: 7})
	st := &counters{}
	return newRelay(rec, "svc", slog.New(slog.DiscardHandler), st), rec, st
}

func workerEvent(id string, epoch, seq uint64, topic, key string) pubsub.Event {
	return pubsub.Event{
		Update: model.DbUpdate{Table: "lswitch", Key: key, Action: model.ActionCreate, Value: []byte(`{}`), Topic: topic},
		Meta:   model.Meta{PublisherID: id, Epoch: epoch, Seq: seq},
	}
}

// markers decodes the resync markers among the published updates.
func markers(us []model.DbUpdate) []ResyncRequest {
	var out []ResyncRequest
	for _, u := range us {
		if r, ok := ParseResync(u); ok {
			out = append(out, r)
		}
	}
	return out
}

// TestRelayTopicAndIdentity: events are re-published on their body topic,
// "D" when they have none, under the service's own seqs.
func TestRelayTopicAndIdentity(t *testing.T) {
	r, rec, st := newTestRelay()
	r.onEvent(workerEvent("w1", 1, 1, "", "a"))
	r.onEvent(workerEvent("w1", 1, 1, "tenant", "b"))
	r.onEvent(pubsub.Event{Update: model.DbUpdate{Table: "info", Action: model.ActionLog, Value: []byte("v1 peer")}})
	recs := rec.Records()
	require.Len(t, recs, 3)
	assert.Equal(t, model.DefaultTopic, recs[0].Update.Topic)
	assert.Equal(t, "tenant", recs[1].Update.Topic)
	assert.Equal(t, model.DefaultTopic, recs[2].Update.Topic, "a v1 event without meta is relayed untracked")
	for _, rc := range recs {
		assert.Equal(t, "svc", rc.Meta.PublisherID)
	}
	assert.Equal(t, uint64(2), recs[2].Meta.Seq, "the service's own seq per topic")
	assert.Equal(t, uint64(3), st.relayed.Load())
	assert.Empty(t, markers(rec.Updates()))
}

// TestRelayFirstContact: a worker's first event on a topic with seq > 1
// asks for a resync of that topic before the event; later events and first
// events with seq 1 do not.
func TestRelayFirstContact(t *testing.T) {
	r, rec, st := newTestRelay()
	r.onEvent(workerEvent("w1", 1, 5, "t1", "k5"))
	r.onEvent(workerEvent("w1", 1, 6, "t1", "k6"))
	r.onEvent(workerEvent("w1", 1, 1, "t2", "k1"))
	us := rec.Updates()
	require.Len(t, us, 4)
	m, ok := ParseResync(us[0])
	require.True(t, ok, "the marker comes before the event that revealed the gap")
	assert.Equal(t, ResyncRequest{Topic: "t1", Reason: FirstContact, Origin: "w1", OriginEpoch: 1,
		Expected: 1, Got: 5, Service: "svc"}, m)
	assert.Equal(t, "t1", us[0].Topic)
	assert.Equal(t, "k5", us[1].Key)
	assert.Len(t, markers(us), 1)
	assert.Equal(t, map[string]uint64{string(FirstContact): 1}, st.gaps.snapshot())
}

// TestRelayGapMarkers: a gap on a topic gives one marker on it; a gap of
// every topic of a known worker gives one per topic seen from it; of an
// unknown worker, one AllTopics marker on "D".
func TestRelayGapMarkers(t *testing.T) {
	r, rec, st := newTestRelay()
	r.onEvent(workerEvent("w1", 1, 1, "t1", "a"))
	r.onEvent(workerEvent("w1", 1, 1, "D", "b"))
	r.onGap(pubsub.Gap{Reason: pubsub.GapSeq, PublisherID: "w1", Topic: "t1", Expected: 2, Got: 4, Lost: 2})
	r.onGap(pubsub.Gap{Reason: pubsub.GapEpoch, PublisherID: "w1"})
	r.onGap(pubsub.Gap{Reason: pubsub.GapOverflow, Lost: 3})
	got := markers(rec.Updates())
	require.Len(t, got, 4)
	assert.Equal(t, ResyncRequest{Topic: "t1", Reason: pubsub.GapSeq, Origin: "w1", OriginEpoch: 1,
		Expected: 2, Got: 4, Lost: 2, Service: "svc"}, got[0])
	assert.Equal(t, []string{"D", "t1"}, []string{got[1].Topic, got[2].Topic}, "every topic of w1, sorted")
	assert.Equal(t, pubsub.GapEpoch, got[1].Reason)
	assert.Equal(t, AllTopics, got[3].Topic)
	us := rec.Updates()
	assert.Equal(t, model.DefaultTopic, us[len(us)-1].Topic, "AllTopics goes on D")
	assert.Equal(t, uint64(4), st.markers.Load())
	assert.Equal(t, uint64(5), st.lost.Load())

	// A new epoch forgets the old topics.
	r.onEvent(workerEvent("w1", 2, 1, "t3", "c"))
	r.onGap(pubsub.Gap{Reason: pubsub.GapHeartbeat, PublisherID: "w1"})
	got = markers(rec.Updates())
	assert.Equal(t, "t3", got[len(got)-1].Topic)
	assert.Equal(t, uint64(2), got[len(got)-1].OriginEpoch)
}

// TestRelayPublishFailure: a refused publish is counted, never fatal.
func TestRelayPublishFailure(t *testing.T) {
	r, rec, st := newTestRelay()
	rec.FailWith(pubsub.ErrClosed)
	r.onEvent(workerEvent("w1", 1, 3, "D", "a"))
	assert.Equal(t, uint64(2), st.publishErrors.Load(), "the marker and the event")
	assert.Zero(t, st.relayed.Load())
	assert.Zero(t, st.markers.Load())
}

// TestRelayPrunesOrigins: the oldest worker is forgotten beyond maxOrigins.
func TestRelayPrunesOrigins(t *testing.T) {
	r, _, st := newTestRelay()
	for i := range maxOrigins + 5 {
		r.onEvent(workerEvent(fmt.Sprintf("w%d", i), 1, 1, "D", "k"))
	}
	assert.Len(t, r.origins, maxOrigins)
	assert.Equal(t, int64(maxOrigins), st.origins.Load())
}

// TestParseResync: markers round-trip; other events are not markers; a
// marker whose value does not decode still names its topic.
func TestParseResync(t *testing.T) {
	req := ResyncRequest{Topic: "t1", Reason: pubsub.GapSeq, Origin: "w", Service: "s", Lost: 1}
	u, err := req.update()
	require.NoError(t, err)
	assert.Equal(t, ResyncTable, u.Table)
	assert.Equal(t, model.ActionSet, u.Action)
	assert.False(t, model.IsControlAction(u.Action), "a marker is data, not a control action")
	got, ok := ParseResync(u)
	require.True(t, ok)
	assert.Equal(t, req, got)

	_, ok = ParseResync(model.DbUpdate{Table: "lport", Action: model.ActionSet})
	assert.False(t, ok)
	got, ok = ParseResync(model.DbUpdate{Table: ResyncTable, Action: ResyncAction, Key: "t9", Value: []byte("junk")})
	require.True(t, ok)
	assert.Equal(t, "t9", got.Topic)
	got, ok = ParseResync(model.DbUpdate{Table: ResyncTable, Action: ResyncAction})
	require.True(t, ok)
	assert.Equal(t, AllTopics, got.Topic)
}
