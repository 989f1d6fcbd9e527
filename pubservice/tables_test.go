package pubservice

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/recorder"
)

const waitFor = 5 * time.Second

type tableFixture struct {
	db  *memory.Driver
	rec *recorder.Recorder
	st  *counters
	tr  *tableRelay
}

func newTableFixture(t *testing.T, table string, selective bool) *tableFixture {
	t.Helper()
	db := memory.New()
	t.Cleanup(func() { _ = db.Close() })
	rec := recorder.New(pubsub.PublisherConfig{ID: "svc", Epoch: 1})
	st := &counters{}
	return &tableFixture{db: db, rec: rec, st: st,
		tr: newTableRelay(db, table, rec, selective, slog.New(slog.DiscardHandler), st)}
}

// start runs the relay until the test ends; run's result arrives on the
// channel (a receiver must put it back for the cleanup).
func (f *tableFixture) start(t *testing.T) chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() { res <- f.tr.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-res
	})
	return res
}

func (f *tableFixture) put(t *testing.T, table, key, value string) {
	t.Helper()
	_, err := f.db.Put(t.Context(), table, key, []byte(value))
	require.NoError(t, err)
}

func (f *tableFixture) del(t *testing.T, table, key string) {
	t.Helper()
	require.NoError(t, f.db.Delete(t.Context(), table, key, 0))
}

// waitUpdates waits until n updates were published and returns them.
func (f *tableFixture) waitUpdates(t *testing.T, n int) []model.DbUpdate {
	t.Helper()
	require.Eventually(t, func() bool { return len(f.rec.Updates()) >= n }, waitFor, time.Millisecond)
	us := f.rec.Updates()
	require.Len(t, us, n)
	return us
}

type change struct{ key, action, value, topic string }

func changes(us []model.DbUpdate) []change {
	out := make([]change, len(us))
	for i, u := range us {
		v := "<nil>"
		if u.Value != nil {
			v = string(u.Value)
		}
		out[i] = change{u.Key, u.Action, v, u.Topic}
	}
	return out
}

// TestTableRelayLiveChanges: rows present at start are not announced;
// create, set and delete are relayed on "D" with the row's JSON (nil for a
// delete); a rewrite that changes nothing is not relayed.
func TestTableRelayLiveChanges(t *testing.T) {
	f := newTableFixture(t, model.TableChassis, false)
	f.put(t, model.TableChassis, "c1", `{"id":"c1"}`)
	require.NoError(t, f.tr.list(t.Context(), false))
	f.start(t)
	f.put(t, model.TableChassis, "c2", `{"id":"c2","ip":"10.0.0.2"}`)
	f.put(t, model.TableChassis, "c2", `{"id":"c2","ip":"10.0.0.2"}`) // unchanged
	f.put(t, model.TableChassis, "c2", `{"id":"c2","ip":"10.0.0.3"}`)
	f.put(t, "lport", "p1", `{"id":"p1"}`) // another table
	f.del(t, model.TableChassis, "c2")
	f.put(t, model.TableChassis, "c1", `{"id":"c1","ip":"10.0.0.1"}`)
	assert.Equal(t, []change{
		{"c2", model.ActionCreate, `{"id":"c2","ip":"10.0.0.2"}`, "D"},
		{"c2", model.ActionSet, `{"id":"c2","ip":"10.0.0.3"}`, "D"},
		{"c2", model.ActionDelete, "<nil>", "D"},
		{"c1", model.ActionSet, `{"id":"c1","ip":"10.0.0.1"}`, "D"},
	}, changes(f.waitUpdates(t, 4)))
	for _, u := range f.rec.Updates() {
		assert.Equal(t, model.TableChassis, u.Table)
	}
	assert.Equal(t, uint64(4), f.st.tableEvents.Load())
}

// TestTableRelaySelective: with selective topology distribution a row with
// a topic is relayed on it, its delete too.
func TestTableRelaySelective(t *testing.T) {
	f := newTableFixture(t, model.TableActivePort, true)
	require.NoError(t, f.tr.list(t.Context(), false))
	f.start(t)
	f.put(t, model.TableActivePort, "ls1"+"10.0.0.5", `{"id":"ls110.0.0.5","topic":"tenant1"}`)
	f.put(t, model.TableActivePort, "ls2", `{"id":"ls2"}`)
	f.del(t, model.TableActivePort, "ls110.0.0.5")
	us := f.waitUpdates(t, 3)
	assert.Equal(t, []string{"tenant1", "D", "tenant1"}, []string{us[0].Topic, us[1].Topic, us[2].Topic})
}

// TestTableRelayRelistAfterCompaction: when the history the watch needs was
// compacted away, the relay lists the table again and publishes what
// changed meanwhile (creates and sets in key order, then deletes), then
// follows live changes.
func TestTableRelayRelistAfterCompaction(t *testing.T) {
	f := newTableFixture(t, model.TableChassis, false)
	f.put(t, model.TableChassis, "c1", `{"id":"c1"}`)
	f.put(t, model.TableChassis, "c2", `{"id":"c2"}`)
	require.NoError(t, f.tr.list(t.Context(), false))
	f.put(t, model.TableChassis, "c3", `{"id":"c3"}`)
	f.put(t, model.TableChassis, "c1", `{"id":"c1","ip":"x"}`)
	f.del(t, model.TableChassis, "c2")
	rev, err := f.db.Revision(t.Context())
	require.NoError(t, err)
	require.NoError(t, f.db.Compact(t.Context(), rev))
	f.start(t)
	assert.Equal(t, []change{
		{"c1", model.ActionSet, `{"id":"c1","ip":"x"}`, "D"},
		{"c3", model.ActionCreate, `{"id":"c3"}`, "D"},
		{"c2", model.ActionDelete, "<nil>", "D"},
	}, changes(f.waitUpdates(t, 3)))
	assert.Equal(t, uint64(1), f.st.tableRelists.Load())
	f.put(t, model.TableChassis, "c4", `{"id":"c4"}`)
	assert.Equal(t, change{"c4", model.ActionCreate, `{"id":"c4"}`, "D"}, changes(f.waitUpdates(t, 4))[3])
}

// TestTableRelayStopsWhenDBClosed: a closed driver ends the relay with an
// error wrapping nb.ErrClosed.
func TestTableRelayStopsWhenDBClosed(t *testing.T) {
	f := newTableFixture(t, model.TableChassis, false)
	require.NoError(t, f.tr.list(t.Context(), false))
	res := f.start(t)
	require.NoError(t, f.db.Close())
	select {
	case err := <-res:
		require.ErrorIs(t, err, nb.ErrClosed)
		res <- err // for the cleanup
	case <-time.After(waitFor):
		t.Fatal("the relay did not stop")
	}
}
