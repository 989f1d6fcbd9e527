package pubsub

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
)

func meta(pub string, epoch, seq uint64) model.Meta {
	return model.Meta{PublisherID: pub, Epoch: epoch, Seq: seq}
}

// observe feeds one event and returns the gap (or nil) and delivery verdict.
func observe(t *Tracker, m model.Meta, topic string) (*Gap, bool) {
	g, ok, deliver := t.Observe(m, topic)
	if !ok {
		return nil, deliver
	}
	return &g, deliver
}

func TestSequencerCountsPerTopic(t *testing.T) {
	s := NewSequencer("p1", 7)
	require.Equal(t, uint64(1), s.Stamp("D").Seq)
	require.Equal(t, uint64(2), s.Stamp("D").Seq)
	m := s.Stamp("tenant1")
	require.Equal(t, uint64(1), m.Seq, "each topic counts from 1")
	require.Equal(t, "p1", m.PublisherID)
	require.Equal(t, uint64(7), m.Epoch)
	require.NotZero(t, m.PublishTime)
	require.Equal(t, map[string]uint64{"D": 2, "tenant1": 1}, s.Last())
}

func TestSequencerConcurrentStampsAreUnique(t *testing.T) {
	s := NewSequencer("p", 1)
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 500 {
				seq := s.Stamp("D").Seq
				mu.Lock()
				seen[seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, seen, 4000)
	require.True(t, seen[1] && seen[4000])
}

func TestTrackerInOrderNoGap(t *testing.T) {
	tr := NewTracker()
	for seq := uint64(1); seq <= 100; seq++ {
		g, deliver := observe(tr, meta("p", 1, seq), "D")
		require.Nil(t, g, "seq %d", seq)
		require.True(t, deliver)
	}
}

func TestTrackerBaselineIsNotAGap(t *testing.T) {
	tr := NewTracker()
	g, deliver := observe(tr, meta("p", 1, 42), "D")
	require.Nil(t, g, "first event sets the baseline")
	require.True(t, deliver)
	g, _ = observe(tr, meta("p", 1, 7), "tenant")
	require.Nil(t, g, "first event on a new topic sets its baseline")
}

func TestTrackerSeqGap(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("p", 1, 1), "D")
	g, deliver := observe(tr, meta("p", 1, 5), "D")
	require.NotNil(t, g)
	require.True(t, deliver, "the event that reveals a gap is still delivered")
	require.Equal(t, Gap{Reason: GapSeq, PublisherID: "p", Topic: "D", Expected: 2, Got: 5, Lost: 3}, *g)
	g, _ = observe(tr, meta("p", 1, 6), "D")
	require.Nil(t, g, "back in order after the gap")
}

// A subscriber that receives only some topics sees no false gap: seq counts
// per topic, so events of other topics never leave holes.
func TestTrackerPartialTopicsNoFalseGap(t *testing.T) {
	pubSeq := NewSequencer("p", 1)
	tr := NewTracker()
	for i := range 300 {
		topic := []string{"D", "tenantA", "tenantB"}[i%3]
		m := pubSeq.Stamp(topic)
		if topic == "tenantB" {
			continue // not subscribed
		}
		g, deliver := observe(tr, m, topic)
		require.Nil(t, g, "event %d on %s", i, topic)
		require.True(t, deliver)
	}
}

func TestTrackerEpochChange(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("p", 1, 1), "D")
	observe(tr, meta("p", 1, 1), "T")
	g, deliver := observe(tr, meta("p", 2, 1), "D")
	require.NotNil(t, g)
	require.True(t, deliver)
	require.Equal(t, Gap{Reason: GapEpoch, PublisherID: "p"}, *g, "epoch gap covers every topic")
	g, _ = observe(tr, meta("p", 2, 1), "T")
	require.Nil(t, g, "new epoch: T starts a fresh baseline")
	g, _ = observe(tr, meta("p", 2, 2), "D")
	require.Nil(t, g)
}

func TestTrackerDropsDuplicatesAndStaleEpochs(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("p", 2, 1), "D")
	observe(tr, meta("p", 2, 2), "D")
	_, deliver := observe(tr, meta("p", 2, 2), "D")
	require.False(t, deliver, "duplicate seq")
	_, deliver = observe(tr, meta("p", 1, 9), "D")
	require.False(t, deliver, "late event of a dead incarnation")
	require.Equal(t, uint64(2), tr.Dropped)
}

func TestTrackerUntrackedV1Peer(t *testing.T) {
	tr := NewTracker()
	for range 3 {
		g, deliver := observe(tr, model.Meta{}, "D")
		require.Nil(t, g)
		require.True(t, deliver)
	}
}

func TestTrackerPublishersAreIndependent(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("a", 1, 1), "D")
	observe(tr, meta("b", 1, 1), "D")
	g, _ := observe(tr, meta("a", 1, 2), "D")
	require.Nil(t, g)
	g, _ = observe(tr, meta("b", 1, 3), "D")
	require.NotNil(t, g)
	require.Equal(t, "b", g.PublisherID)
}

func TestTrackerHeartbeatTailLoss(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("p", 1, 1), "D")
	_, ok := tr.ObserveHeartbeat("p", 1, "D", 1)
	require.False(t, ok, "heartbeat at the delivered seq: no loss")
	g, ok := tr.ObserveHeartbeat("p", 1, "D", 4)
	require.True(t, ok)
	require.Equal(t, Gap{Reason: GapHeartbeat, PublisherID: "p", Topic: "D", Expected: 2, Got: 4, Lost: 3}, g)
	gs, _ := observe(tr, meta("p", 1, 5), "D")
	require.Nil(t, gs, "after a heartbeat gap the next seq continues cleanly")
	_, ok = tr.ObserveHeartbeat("p", 1, "other", 99)
	require.False(t, ok, "untracked topic: the subscriber may not be subscribed")
	_, ok = tr.ObserveHeartbeat("p", 2, "D", 99)
	require.False(t, ok, "another epoch is the data path's business")
}

func TestTrackerForgetTopicsAvoidsFalseGapOnResubscribe(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("p", 1, 1), "tenantA")
	observe(tr, meta("p", 1, 1), "D")
	tr.ForgetTopics(func(topic string) bool { return strings.HasPrefix(topic, "tenant") })
	g, _ := observe(tr, meta("p", 1, 50), "tenantA")
	require.Nil(t, g, "unsubscribed then resubscribed: new baseline")
	g, _ = observe(tr, meta("p", 1, 3), "D")
	require.NotNil(t, g, "other topics keep their counters")
}

func TestTrackerForgetPublisher(t *testing.T) {
	tr := NewTracker()
	observe(tr, meta("p", 5, 1), "D")
	tr.Forget("p")
	_, deliver := observe(tr, meta("p", 4, 1), "D")
	require.True(t, deliver, "forgotten publisher: any epoch is a new baseline")
}

func TestGapString(t *testing.T) {
	s := Gap{Reason: GapSeq, PublisherID: "p", Topic: "D", Expected: 2, Got: 5, Lost: 3}.String()
	require.Equal(t, `gap(seq publisher="p" topic="D" expected=2 got=5 lost=3)`, s)
}

// A relay that restarted reports a heartbeat of an unseen publisher as a
// gap of everything up to that seq; a normal subscriber ignores it.
func TestTrackerHeartbeatFirstContact(t *testing.T) {
	plain := NewTracker()
	_, ok := plain.ObserveHeartbeat("w", 1, "T", 5)
	require.False(t, ok)

	tr := NewTracker()
	tr.HeartbeatFirstContact = true
	g, ok := tr.ObserveHeartbeat("w", 1, "T", 5)
	require.True(t, ok)
	require.Equal(t, Gap{Reason: GapHeartbeat, PublisherID: "w", Topic: "T", Expected: 1, Got: 5, Lost: 5}, g)
	_, ok = tr.ObserveHeartbeat("w", 1, "T", 5)
	require.False(t, ok, "reported once")
	gs, deliver := observe(tr, meta("w", 1, 6), "T")
	require.Nil(t, gs, "the next event continues cleanly")
	require.True(t, deliver)
	_, ok = tr.ObserveHeartbeat("w", 1, "U", 0)
	require.False(t, ok, "a topic with nothing sent yet is no loss")
}
