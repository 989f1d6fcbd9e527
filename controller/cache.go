package controller

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/model"
)

// Outcome says what the cache did with one event.
type Outcome string

// Outcomes of cache.apply.
const (
	// Applied: the object was stored or deleted.
	Applied Outcome = "applied"
	// Stale: a versioned object whose version is not newer than the
	// cached one (a duplicate or an old event).
	Stale Outcome = "stale"
	// Tombstoned: a set of a versioned object deleted recently, at a
	// version not newer than the deleted one (a late event must not
	// resurrect it).
	Tombstoned Outcome = "tombstoned"
	// Unsubscribed: the object's topic is not subscribed (selective
	// topology); a cached copy, if any, was dropped.
	Unsubscribed Outcome = "unsubscribed"
	// Absent: a delete of an object the cache does not hold.
	Absent Outcome = "absent"
	// Undecodable: the value is not the table's JSON.
	Undecodable Outcome = "undecodable"
)

// DefaultTombstoneTTL is how long the cache remembers a deleted object,
// against late events and resyncs that listed it before the delete.
const DefaultTombstoneTTL = 2 * time.Minute

type tkey struct{ table, key string }

// entry is one cached object.
type entry struct {
	obj       model.Model
	raw       json.RawMessage
	topic     string // the cache topic (see cache.topicOf)
	versioned bool
	version   int64
	gen       uint64 // cache generation of the last write
}

// tomb remembers a deleted object.
type tomb struct {
	gen       uint64
	versioned bool
	version   int64
	at        time.Time
}

// cache is the controller's versioned local copy of the NB objects of its
// subscribed topics. Events and resyncs write it; both run concurrently,
// so every write gets a generation number: a resync that started at
// generation g (begin) never overwrites or deletes what an event wrote
// after g, and never resurrects what an event deleted after g (see
// applyResync). Safe for concurrent use.
type cache struct {
	selective bool
	clk       clock.Clock
	tombTTL   time.Duration

	mu       sync.Mutex
	gen      uint64
	topics   map[string]bool
	tables   map[string]map[string]*entry
	tombs    map[tkey]tomb
	inflight map[uint64]int // start generations of resyncs in flight
}

func newCache(selective bool, clk clock.Clock, tombTTL time.Duration) *cache {
	if tombTTL <= 0 {
		tombTTL = DefaultTombstoneTTL
	}
	return &cache{
		selective: selective, clk: clk, tombTTL: tombTTL,
		topics: map[string]bool{}, tables: map[string]map[string]*entry{},
		tombs: map[tkey]tomb{}, inflight: map[uint64]int{},
	}
}

// topicOf is the cache topic of an object's JSON: its "topic" field (the
// NB DB's rule for a row's topic) when selective topology distribution is
// on, else model.DefaultTopic, on which everything is published then.
// Objects without a topic are on model.DefaultTopic either way.
func (c *cache) topicOf(raw []byte) string {
	if !c.selective {
		return model.DefaultTopic
	}
	var t struct {
		Topic string `json:"topic"`
	}
	if json.Unmarshal(raw, &t) != nil || t.Topic == "" {
		return model.DefaultTopic
	}
	return t.Topic
}

// addTopic starts caching topic; false if it already was.
func (c *cache) addTopic(topic string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.topics[topic] {
		return false
	}
	c.topics[topic] = true
	return true
}

// removeTopic stops caching topic and drops its objects; it returns how
// many were dropped.
func (c *cache) removeTopic(topic string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.topics, topic)
	n := 0
	for _, rows := range c.tables {
		for key, e := range rows {
			if e.topic == topic {
				delete(rows, key)
				n++
			}
		}
	}
	return n
}

// hasTopic reports whether topic is cached.
func (c *cache) hasTopic(topic string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topics[topic]
}

// topicList returns the cached topics, sorted.
func (c *cache) topicList() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(maps.Keys(c.topics))
}

// apply applies one create, set or delete event of a known table. A
// versioned object replaces the cached one only with a greater version;
// an unversioned one always does (last write wins).
func (c *cache) apply(u model.DbUpdate) (Outcome, int64) {
	k := tkey{u.Table, u.Key}
	if u.Action == model.ActionDelete {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.gen++
		e := c.tables[u.Table][u.Key]
		t := tomb{gen: c.gen, at: c.clk.Now()}
		if e != nil {
			t.versioned, t.version = e.versioned, e.version
		} else if prev, ok := c.tombs[k]; ok {
			t.versioned, t.version = prev.versioned, prev.version // a repeated delete
		}
		c.tombs[k] = t
		if e == nil {
			return Absent, 0
		}
		delete(c.tables[u.Table], u.Key)
		return Applied, e.version
	}
	m, err := model.UnmarshalModel(u.Table, u.Value)
	if err != nil {
		return Undecodable, 0
	}
	topic := c.topicOf(u.Value)
	vm, versioned := m.(model.Versioned)
	var version int64
	if versioned {
		version = vm.GetVersion()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := c.tables[u.Table][u.Key]
	if !c.topics[topic] {
		if cur != nil { // moved to a topic this host does not follow
			c.gen++
			delete(c.tables[u.Table], u.Key)
		}
		return Unsubscribed, version
	}
	if versioned && cur != nil && cur.versioned && version <= cur.version {
		return Stale, version
	}
	if t, ok := c.tombs[k]; ok && cur == nil && versioned && t.versioned &&
		u.Action != model.ActionCreate && version <= t.version {
		return Tombstoned, version
	}
	c.gen++
	// raw is a copy: u.Value is borrowed (SubscriberConfig.Borrow).
	c.store(k, &entry{obj: m, raw: bytes.Clone(u.Value), topic: topic, versioned: versioned, version: version, gen: c.gen})
	return Applied, version
}

// store writes e; c.mu is held.
func (c *cache) store(k tkey, e *entry) {
	rows := c.tables[k.table]
	if rows == nil {
		rows = map[string]*entry{}
		c.tables[k.table] = rows
	}
	rows[k.key] = e
	delete(c.tombs, k)
}

// begin marks the start of a resync (before its first List) and returns
// its start generation, to pass to applyResync and end.
func (c *cache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight[c.gen]++
	return c.gen
}

// end marks the end of the resync started at start and forgets
// tombstones no resync in flight can need any more and older than the
// tombstone TTL.
func (c *cache) end(start uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[start]--; c.inflight[start] <= 0 {
		delete(c.inflight, start)
	}
	c.pruneLocked()
}

func (c *cache) pruneLocked() {
	oldest := c.gen + 1
	for g := range c.inflight {
		oldest = min(oldest, g)
	}
	cutoff := c.clk.Now().Add(-c.tombTTL)
	for k, t := range c.tombs {
		if t.gen <= oldest && t.at.Before(cutoff) {
			delete(c.tombs, k)
		}
	}
}

// row is one NB DB row listed by a resync.
type row struct {
	table, key string
	raw        []byte
}

// ResyncResult counts what one resync changed in the cache.
type ResyncResult struct {
	Added, Updated, Deleted int
	// Kept counts objects an event wrote or deleted while the resync
	// listed; the event was newer than the list, so it won.
	Kept int
	// Undecodable counts listed rows that did not decode.
	Undecodable int
}

// applyResync replaces the cache's view of topic with rows, the NB DB's
// rows of that topic listed after begin returned start:
//   - a listed object the cache lacks is added, unless an event deleted it
//     after start (the delete is newer than the list: no resurrection);
//   - a listed object the cache holds is replaced when it differs, unless
//     an event wrote it after start: then a versioned object is replaced
//     only by a greater version, an unversioned one is kept;
//   - a cached object of topic absent from rows is deleted, unless an event
//     wrote it after start.
//
// It returns false, changing nothing, when topic is no longer cached.
func (c *cache) applyResync(topic string, start uint64, rows []row) (ResyncResult, bool) {
	type decoded struct {
		row
		obj       model.Model
		versioned bool
		version   int64
	}
	var res ResyncResult
	list := make([]decoded, 0, len(rows))
	for _, r := range rows {
		if c.topicOf(r.raw) != topic {
			continue
		}
		m, err := model.UnmarshalModel(r.table, r.raw)
		if err != nil {
			res.Undecodable++
			continue
		}
		d := decoded{row: r, obj: m}
		if vm, ok := m.(model.Versioned); ok {
			d.versioned, d.version = true, vm.GetVersion()
		}
		list = append(list, d)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.topics[topic] {
		return ResyncResult{}, false
	}
	seen := make(map[tkey]bool, len(list))
	for _, d := range list {
		k := tkey{d.table, d.key}
		seen[k] = true
		cur := c.tables[d.table][d.key]
		switch {
		case cur == nil:
			if t, ok := c.tombs[k]; ok && t.gen > start {
				res.Kept++
				continue
			}
			res.Added++
		case cur.gen > start:
			if !(d.versioned && cur.versioned && d.version > cur.version) {
				res.Kept++
				continue
			}
			res.Updated++
		case bytes.Equal(cur.raw, d.raw):
			continue
		default:
			res.Updated++
		}
		c.gen++
		c.store(k, &entry{obj: d.obj, raw: d.raw, topic: topic, versioned: d.versioned, version: d.version, gen: c.gen})
	}
	for table, objs := range c.tables {
		for key, e := range objs {
			if e.topic != topic || seen[tkey{table, key}] {
				continue
			}
			if e.gen > start {
				res.Kept++
				continue
			}
			delete(objs, key)
			res.Deleted++
		}
	}
	return res, true
}

// restore puts objects of a state file back (their topics must have been
// added); rows that do not decode or whose topic is not cached are left
// out (the resyncs repair them).
func (c *cache) restore(tables map[string]map[string]json.RawMessage) (n int) {
	for table, rows := range tables {
		for key, raw := range rows {
			m, err := model.UnmarshalModel(table, raw)
			if err != nil {
				continue
			}
			topic := c.topicOf(raw)
			vm, versioned := m.(model.Versioned)
			var version int64
			if versioned {
				version = vm.GetVersion()
			}
			c.mu.Lock()
			if c.topics[topic] {
				c.gen++
				c.store(tkey{table, key}, &entry{obj: m, raw: raw, topic: topic, versioned: versioned, version: version, gen: c.gen})
				n++
			}
			c.mu.Unlock()
		}
	}
	return n
}

// get returns the cached object of table and key.
func (c *cache) get(table, key string) (model.Model, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.tables[table][key]
	if !ok {
		return nil, false
	}
	return e.obj, true
}

// sizes returns the number of cached objects per table (tables with
// none omitted).
func (c *cache) sizes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for table, rows := range c.tables {
		if len(rows) > 0 {
			out[table] = len(rows)
		}
	}
	return out
}

// snapshot returns every cached object's JSON by table and key.
func (c *cache) snapshot() map[string]map[string]json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]map[string]json.RawMessage{}
	for table, rows := range c.tables {
		if len(rows) == 0 {
			continue
		}
		m := make(map[string]json.RawMessage, len(rows))
		for key, e := range rows {
			m[key] = e.raw
		}
		out[table] = m
	}
	return out
}
