package controller

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/model"
)

func ev(t *testing.T, action string, m model.Model) model.DbUpdate {
	t.Helper()
	u := model.DbUpdate{Table: m.Table(), Key: m.Key(), Action: action, Topic: model.DefaultTopic}
	if action != model.ActionDelete {
		b, err := json.Marshal(m)
		require.NoError(t, err)
		u.Value = b
	}
	return u
}

func rowOf(t *testing.T, m model.Model) row {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return row{table: m.Table(), key: m.Key(), raw: b}
}

func newTestCache(selective bool) (*cache, *clock.Fake) {
	clk := clock.NewFake(time.Unix(1000, 0))
	c := newCache(selective, clk, time.Minute)
	c.addTopic(model.DefaultTopic)
	return c, clk
}

func version(t *testing.T, c *cache, table, key string) int64 {
	t.Helper()
	m, ok := c.get(table, key)
	require.True(t, ok, "%s/%s cached", table, key)
	return m.(model.Versioned).GetVersion()
}

// Dragonflow's update_model_object: newer versions replace, the same or
// older are dropped; unversioned models are last-write-wins.
func TestCacheVersionRules(t *testing.T) {
	c, _ := newTestCache(false)
	o, _ := c.apply(ev(t, model.ActionCreate, lport("p1", "t1", 1)))
	require.Equal(t, Applied, o)
	o, _ = c.apply(ev(t, model.ActionSet, lport("p1", "t1", 3)))
	require.Equal(t, Applied, o)
	o, _ = c.apply(ev(t, model.ActionSet, lport("p1", "t1", 3)))
	require.Equal(t, Stale, o, "same version: duplicate")
	o, _ = c.apply(ev(t, model.ActionSet, lport("p1", "t1", 2)))
	require.Equal(t, Stale, o, "older version")
	require.EqualValues(t, 3, version(t, c, "lport", "p1"))

	o, _ = c.apply(ev(t, model.ActionCreate, &model.Chassis{ID: "c1", IP: "10.0.0.1"}))
	require.Equal(t, Applied, o)
	o, _ = c.apply(ev(t, model.ActionSet, &model.Chassis{ID: "c1", IP: "10.0.0.2"}))
	require.Equal(t, Applied, o, "unversioned: last write wins")
	m, _ := c.get("chassis", "c1")
	require.Equal(t, "10.0.0.2", m.(*model.Chassis).IP)

	o, _ = c.apply(ev(t, model.ActionDelete, lport("p1", "", 0)))
	require.Equal(t, Applied, o)
	o, _ = c.apply(ev(t, model.ActionDelete, lport("p1", "", 0)))
	require.Equal(t, Absent, o)
	o, _ = c.apply(ev(t, model.ActionSet, lport("p1", "t1", 3)))
	require.Equal(t, Tombstoned, o, "a late set must not resurrect a deleted object")
	o, _ = c.apply(ev(t, model.ActionCreate, lport("p1", "t1", 1)))
	require.Equal(t, Applied, o, "a create is a new object")

	o, _ = c.apply(model.DbUpdate{Table: "lport", Key: "bad", Action: model.ActionSet, Value: []byte("{")})
	require.Equal(t, Undecodable, o)
}

func TestCacheResyncReplacesTheTopicView(t *testing.T) {
	c, _ := newTestCache(false)
	c.apply(ev(t, model.ActionCreate, lport("gone", "t1", 1)))
	c.apply(ev(t, model.ActionCreate, lport("changed", "t1", 1)))
	c.apply(ev(t, model.ActionCreate, lport("same", "t1", 1)))
	start := c.begin()
	res, ok := c.applyResync(model.DefaultTopic, start, []row{
		rowOf(t, lport("changed", "t1", 2)), rowOf(t, lport("same", "t1", 1)), rowOf(t, lport("new", "t1", 1)),
	})
	c.end(start)
	require.True(t, ok)
	require.Equal(t, ResyncResult{Added: 1, Updated: 1, Deleted: 1}, res)
	_, ok = c.get("lport", "gone")
	require.False(t, ok)
	require.EqualValues(t, 2, version(t, c, "lport", "changed"))
}

// The race between a resync's list and events that arrive meanwhile: an
// event newer than the list is never undone, a delete never resurrected,
// an object created meanwhile never deleted.
func TestCacheResyncRacesWithEvents(t *testing.T) {
	c, _ := newTestCache(false)
	c.apply(ev(t, model.ActionCreate, lport("updated", "t1", 1)))
	c.apply(ev(t, model.ActionCreate, lport("deleted", "t1", 1)))
	c.apply(ev(t, model.ActionCreate, &model.Chassis{ID: "c1", IP: "10.0.0.1"}))
	start := c.begin()
	// The list read these rows; then events arrived before it was applied.
	listed := []row{
		rowOf(t, lport("updated", "t1", 1)), rowOf(t, lport("deleted", "t1", 1)),
		rowOf(t, &model.Chassis{ID: "c1", IP: "10.0.0.1"}),
	}
	c.apply(ev(t, model.ActionSet, lport("updated", "t1", 2)))
	c.apply(ev(t, model.ActionDelete, lport("deleted", "", 0)))
	c.apply(ev(t, model.ActionCreate, lport("created", "t1", 1)))
	c.apply(ev(t, model.ActionSet, &model.Chassis{ID: "c1", IP: "10.0.0.9"}))
	res, ok := c.applyResync(model.DefaultTopic, start, listed)
	c.end(start)
	require.True(t, ok)
	require.Equal(t, 4, res.Kept)
	require.Zero(t, res.Added+res.Updated+res.Deleted)
	require.EqualValues(t, 2, version(t, c, "lport", "updated"), "a newer event is not undone")
	_, ok = c.get("lport", "deleted")
	require.False(t, ok, "a delete during the list is not resurrected")
	_, ok = c.get("lport", "created")
	require.True(t, ok, "an object created during the list is kept")
	m, _ := c.get("chassis", "c1")
	require.Equal(t, "10.0.0.9", m.(*model.Chassis).IP)

	// A list newer than a concurrent event wins for versioned objects.
	start = c.begin()
	c.apply(ev(t, model.ActionSet, lport("updated", "t1", 3)))
	res, _ = c.applyResync(model.DefaultTopic, start, []row{rowOf(t, lport("updated", "t1", 4))})
	c.end(start)
	require.EqualValues(t, 4, version(t, c, "lport", "updated"))
	require.Equal(t, 1, res.Updated)
}

func TestCacheTombstonesExpire(t *testing.T) {
	c, clk := newTestCache(false)
	c.apply(ev(t, model.ActionCreate, lport("p1", "t1", 5)))
	start := c.begin() // a resync in flight keeps the tombstones of deletes after its start
	c.apply(ev(t, model.ActionDelete, lport("p1", "", 0)))
	clk.Advance(2 * time.Minute)
	c.end(c.begin())
	require.Len(t, c.tombs, 1)
	c.end(start)
	require.Empty(t, c.tombs, "expired and no resync needs it")
	o, _ := c.apply(ev(t, model.ActionSet, lport("p1", "t1", 5)))
	require.Equal(t, Applied, o)
}

func TestCacheSelectiveTopics(t *testing.T) {
	c, _ := newTestCache(true)
	o, _ := c.apply(ev(t, model.ActionCreate, lport("p1", "t1", 1)))
	require.Equal(t, Unsubscribed, o, "tenant t1 not followed")
	o, _ = c.apply(ev(t, model.ActionCreate, &model.Chassis{ID: "c1"}))
	require.Equal(t, Applied, o, "topicless objects are on D")
	require.True(t, c.addTopic("t1"))
	require.False(t, c.addTopic("t1"))
	o, _ = c.apply(ev(t, model.ActionCreate, lport("p1", "t1", 1)))
	require.Equal(t, Applied, o)
	c.apply(ev(t, model.ActionCreate, lswitch("t1")))

	// A resync of D lists everything but only touches D's objects.
	start := c.begin()
	res, ok := c.applyResync(model.DefaultTopic, start, []row{rowOf(t, &model.Chassis{ID: "c1"}), rowOf(t, lport("other", "t2", 1))})
	c.end(start)
	require.True(t, ok)
	require.Equal(t, ResyncResult{}, res)
	require.Equal(t, map[string]int{"chassis": 1, "lport": 1, "lswitch": 1}, c.sizes())

	require.Equal(t, 2, c.removeTopic("t1"))
	require.Equal(t, map[string]int{"chassis": 1}, c.sizes())
	_, ok = c.applyResync("t1", c.begin(), nil)
	require.False(t, ok, "a resync of an unsubscribed topic changes nothing")
}

func TestQueueCoalesces(t *testing.T) {
	q := newQueue()
	require.True(t, q.request("D", "gap-seq"))
	require.False(t, q.request("D", "gap-seq"))
	require.True(t, q.request("t1", "x"))
	topic, reason, ok := q.next()
	require.True(t, ok)
	require.Equal(t, "D", topic)
	require.Equal(t, "gap-seq", reason)
	require.True(t, q.request("D", "periodic"), "one more may queue while one runs")
	require.False(t, q.request("D", "periodic"))
	n, coalesced := q.pending()
	require.Equal(t, 2, n)
	require.EqualValues(t, 2, coalesced)
}
