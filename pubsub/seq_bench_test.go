package pubsub

import (
	"strconv"
	"testing"

	"github.com/dragonflow-go/dragonflow/model"
)

// BenchmarkTrackerObserve measures the subscriber hot path: in-order events
// of one publisher/topic (the cached case) and interleaved across topics and
// publishers (map lookups every call).
func BenchmarkTrackerObserve(b *testing.B) {
	b.Run("same", func(b *testing.B) {
		tr := NewTracker()
		m := model.Meta{PublisherID: "pub-1", Epoch: 1}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.Seq = uint64(i + 1)
			if _, _, deliver := tr.Observe(m, "topic"); !deliver {
				b.Fatal("dropped")
			}
		}
	})
	b.Run("interleaved", func(b *testing.B) {
		tr := NewTracker()
		pubs := make([]string, 4)
		topics := make([]string, 8)
		for i := range pubs {
			pubs[i] = "pub-" + strconv.Itoa(i)
		}
		for i := range topics {
			topics[i] = "topic-" + strconv.Itoa(i)
		}
		seq := make([]uint64, len(pubs)*len(topics))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := i % len(seq)
			seq[k]++
			m := model.Meta{PublisherID: pubs[k/len(topics)], Epoch: 1, Seq: seq[k]}
			if _, _, deliver := tr.Observe(m, topics[k%len(topics)]); !deliver {
				b.Fatal("dropped")
			}
		}
	})
}

// TestTrackerCacheInvalidation checks the one-entry cache never outlives the
// state it points at.
func TestTrackerCacheInvalidation(t *testing.T) {
	tr := NewTracker()
	m := model.Meta{PublisherID: "p", Epoch: 1, Seq: 1}
	tr.Observe(m, "a")
	tr.ForgetTopics(func(string) bool { return true })
	m.Seq = 5
	if _, ok, deliver := tr.Observe(m, "a"); ok || !deliver {
		t.Fatalf("after ForgetTopics: want a new baseline, got ok=%v deliver=%v", ok, deliver)
	}
	tr.Forget("p")
	m.Seq = 9
	if _, ok, deliver := tr.Observe(m, "a"); ok || !deliver {
		t.Fatalf("after Forget: want a new baseline, got ok=%v deliver=%v", ok, deliver)
	}
	m.Epoch, m.Seq = 2, 1
	if g, ok, deliver := tr.Observe(m, "a"); !ok || g.Reason != GapEpoch || !deliver {
		t.Fatalf("epoch change: got %+v ok=%v deliver=%v", g, ok, deliver)
	}
	m.Seq = 3
	if g, ok, _ := tr.Observe(m, "a"); !ok || g.Reason != GapSeq || g.Expected != 2 {
		t.Fatalf("seq gap after epoch change: got %+v ok=%v", g, ok)
	}
}
