package pubsubtest

import (
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// names reports whether g concerns publisher id (or every publisher) on
// topic (or every topic).
func names(g *pubsub.Gap, id, topic string) bool {
	return (g.PublisherID == id || g.PublisherID == "") && (g.Topic == topic || g.Topic == "")
}

// sent reports whether ev was sent by p on topic.
func (p *pub) sent(ev *pubsub.Event, topic string) bool {
	return ev != nil && ev.Meta.PublisherID == p.info.ID && ev.Update.TopicOrDefault() == topic
}

// run is what requireRun checks: between barriers from and to, publisher p
// sent want on topic, and the subscriber registered p at endpoint.
type run struct {
	p        *pub
	endpoint string
	topic    string
	from, to mark
	want     []model.DbUpdate
}

// requireRun asserts that the events of r.p on r.topic between the two
// barriers are exactly r.want followed by probes, with consecutive seqs from
// r.from.seq+1, p's id and epoch, a publish time and r.endpoint, and that no
// gap concerning p and the topic was reported in between.
func (e *env) requireRun(ents []entry, r run) {
	e.t.Helper()
	next := r.from.seq + 1
	var got []model.DbUpdate
	for i := r.from.pos + 1; i <= r.to.pos; i++ {
		en := ents[i]
		if en.gap != nil {
			require.False(e.t, names(en.gap, r.p.info.ID, r.topic), "unexpected %v at entry %d", *en.gap, i)
			continue
		}
		if !r.p.sent(en.ev, r.topic) {
			continue
		}
		m := en.ev.Meta
		require.Equal(e.t, next, m.Seq, "seq of entry %d (%s %q); want consecutive seqs", i, en.ev.Update.Table, en.ev.Update.Key)
		require.Equal(e.t, r.p.info.Epoch, m.Epoch, "Meta.Epoch of entry %d", i)
		require.NotZero(e.t, m.PublishTime, "Meta.PublishTime of entry %d", i)
		require.Equal(e.t, r.endpoint, en.ev.Endpoint, "Event.Endpoint of entry %d", i)
		next++
		if en.ev.Update.Table != ProbeTable {
			require.Len(e.t, got, int(m.Seq-r.from.seq-1), "test event at entry %d after a probe", i)
			got = append(got, en.ev.Update)
		}
	}
	require.Len(e.t, got, len(r.want), "test events from %s on %q between barriers (entries %d..%d)",
		r.p.info.ID, r.topic, r.from.pos, r.to.pos)
	for i := range got {
		require.Equal(e.t, r.want[i], got[i], "test event %d: body not intact", i)
	}
}

// requireAccounted is requireRun for a run that may lose events: every
// event of r.want is either delivered intact, in seq order and once, or
// lost with a gap concerning r.p reported before the next event delivered
// on the topic (r.to, a probe, closes the run). When every such gap counts
// its loss (Lost > 0), the counts cover the events lost. It returns how many
// of r.want were delivered.
func (e *env) requireAccounted(ents []entry, r run) (delivered int) {
	e.t.Helper()
	first, last := r.from.seq+1, r.from.seq+uint64(len(r.want))
	next := first
	var reported bool // a gap concerning p since the last event
	var lost uint64
	unknown := false
	for i := r.from.pos + 1; i <= r.to.pos; i++ {
		en := ents[i]
		if g := en.gap; g != nil {
			if names(g, r.p.info.ID, r.topic) {
				reported = true
				lost += g.Lost
				unknown = unknown || g.Lost == 0
			}
			continue
		}
		if !r.p.sent(en.ev, r.topic) {
			continue
		}
		seq := en.ev.Meta.Seq
		require.GreaterOrEqual(e.t, seq, next, "entry %d: duplicate or out-of-order seq", i)
		if seq > next {
			require.True(e.t, reported, "seqs %d..%d from %s on %q lost silently: no gap reported before seq %d (entry %d)",
				next, seq-1, r.p.info.ID, r.topic, seq, i)
		}
		reported = false
		if seq <= last {
			require.Equal(e.t, r.want[seq-first], en.ev.Update, "event seq %d (entry %d): body not intact", seq, i)
			delivered++
		}
		next = seq + 1
	}
	if missing := uint64(len(r.want) - delivered); missing > 0 && !unknown {
		require.GreaterOrEqual(e.t, lost, missing, "gaps report fewer lost events than are missing")
	}
	return delivered
}

// requireNoDuplicates asserts that no (publisher, epoch, topic, seq) was
// delivered twice.
func (e *env) requireNoDuplicates(ents []entry) {
	e.t.Helper()
	type id struct {
		pub        string
		epoch, seq uint64
		topic      string
	}
	seen := map[id]int{}
	for i, en := range ents {
		if en.ev == nil || en.ev.Meta.IsZero() {
			continue
		}
		k := id{en.ev.Meta.PublisherID, en.ev.Meta.Epoch, en.ev.Meta.Seq, en.ev.Update.TopicOrDefault()}
		if j, dup := seen[k]; dup {
			require.Failf(e.t, "duplicate delivery", "entries %d and %d are both %+v", j, i, k)
		}
		seen[k] = i
	}
}

// key identifies a test event: its key, or for log events (whose key
// travels as nil) its value.
func key(u model.DbUpdate) string {
	if u.Key != "" {
		return u.Key
	}
	return string(u.Value)
}

// keys returns the keys of the test events in ents, in order.
func keys(ents []entry) []string {
	var out []string
	for _, en := range ents {
		if en.ev != nil && en.ev.Update.Table != ProbeTable {
			out = append(out, key(en.ev.Update))
		}
	}
	return out
}

// sentKeys returns the keys of us, in order.
func sentKeys(us []model.DbUpdate) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = key(u)
	}
	return out
}
