package faults

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/aio"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// Tables the load writes; caches are compared with the NB DB on these.
var loadTables = []string{model.TableLogicalPort, model.TableLogicalSwitch}

// topicsN are the tenant topics of the load: no one is a prefix of
// another (ZeroMQ subscriptions match prefixes).
func topicsN(n int) []string {
	ts := make([]string, n)
	for i := range ts {
		ts[i] = fmt.Sprintf("tenant-%02d", i+1)
	}
	return ts
}

// cluster is an all-in-one (internal/aio) with selective topology: each
// local controller has one local port per topic, so it follows every
// topic, and writes a --history-file.
type cluster struct {
	t      *testing.T
	a      *aio.AIO
	out    *testutil.LockedBuffer
	dir    string
	topics []string
	w      *writer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func startCluster(t *testing.T, o aio.Options, topics []string, extraArgs ...func(c *cluster, name string) []string) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), topics: topics, out: &testutil.LockedBuffer{}}
	o.DataDir = filepath.Join(c.dir, "aio")
	o.BinDir = binDir
	o.DBAddr = "127.0.0.1:0"
	o.RestListen = freeAddr(t)
	o.Selective = true
	if o.PublisherTimeout == 0 {
		o.PublisherTimeout = 3 * time.Second
	}
	if o.DBSyncTime == 0 {
		o.DBSyncTime = 30 * time.Minute // repairs must come from gaps, not the safety net
	}
	o.ReadyTimeout = 90 * time.Second
	o.ControllerArgs = func(name string) []string {
		args := []string{"--history-file", c.histPath(name)}
		for _, f := range extraArgs {
			args = append(args, f(c, name)...)
		}
		return args
	}
	a, err := aio.Start(t.Context(), o, c.out)
	require.NoError(t, err, "all-in-one output:\n%s", c.out.String())
	c.a = a
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Logf("close the all-in-one: %v", err)
		}
		if t.Failed() {
			for _, p := range a.Processes() {
				t.Logf("=== log of %s (%s)\n%s", p.Name(), p.LogPath(), tail(p.LogPath(), 30))
			}
		}
	})
	c.w = newWriter(t, a, c.dir)
	c.localPorts()
	return c
}

func (c *cluster) histPath(name string) string { return filepath.Join(c.dir, name+".history.jsonl") }

func (c *cluster) controllers() []*aio.Process {
	var ps []*aio.Process
	for _, p := range c.a.Processes() {
		if p.Role() == "local-controller" {
			ps = append(ps, p)
		}
	}
	return ps
}

// localPorts gives every controller one local port per topic (the fake
// port source's POST /port), so that it subscribes every topic, and waits
// until each controller applies an event of every topic by event (its
// subscriptions reached the publisher).
func (c *cluster) localPorts() {
	t := c.t
	for _, tp := range c.topics {
		require.NoError(t, c.w.api.Create(t.Context(), &model.LogicalSwitch{ID: "sw-" + tp, Topic: tp, Version: 1}))
		for _, p := range c.controllers() {
			id := "local-" + p.Name() + "-" + tp
			require.NoError(t, c.w.api.Create(t.Context(), &model.LogicalPort{ID: id, Topic: tp, LSwitch: "sw-" + tp,
				Version: 1, BindingHost: p.Host()}))
			require.NoError(t, admin.PostJSON(t.Context(), p.Admin(), "/port", map[string]string{"port": id, "status": "up"}, nil))
		}
	}
	for i, tp := range c.topics {
		require.Eventually(t, func() bool {
			key := fmt.Sprintf("warmup-%s-%d", tp, time.Now().UnixNano())
			if err := c.w.api.Create(t.Context(), &model.LogicalPort{ID: key, Topic: tp, LSwitch: "sw-" + tp, Version: 1}); err != nil {
				return false
			}
			for _, p := range c.controllers() {
				ok := false
				for range 100 {
					if ok = appliedByEvent(c.histPath(p.Name()), key); ok {
						break
					}
					time.Sleep(10 * time.Millisecond) // polling the history file
				}
				if !ok {
					return false
				}
			}
			return true
		}, 30*time.Second, time.Millisecond, "topic %d %s reaches every controller by event", i, tp)
	}
}

// appliedByEvent says whether the history file has an applied event of key.
func appliedByEvent(path, key string) bool {
	lines, _ := readHistory(path)
	for _, l := range lines {
		if l.Kind == "event" && l.Key == key && l.Outcome == "applied" {
			return true
		}
	}
	return false
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---------------------------------------------------------------- writer

// write is one NB DB write of the load and its event.
type write struct {
	table, key, action, topic string
	version                   int64
	at                        time.Time // just before the write was sent
	phase                     int
}

// writer is the test's neutron-server worker: an NbApi with role
// neutron-server that writes the NB DB and PUSHes each event to the
// publisher service over its ipc socket (pub_sub_use_multiproc), exactly
// like df-neutron-server's workers.
type writer struct {
	t   *testing.T
	api *nbapi.NbApi

	mu     sync.Mutex
	writes []write
	failed int
}

func newWriter(t *testing.T, a *aio.AIO, dir string) *writer {
	t.Helper()
	extra := filepath.Join(dir, "writer.ini")
	require.NoError(t, os.WriteFile(extra, []byte("[DEFAULT]\nhost = faults-writer\n"), 0o600))
	cfg, err := config.Load(config.FileList{a.ConfigPath(), extra}, nil)
	require.NoError(t, err)
	api, err := nbapi.New(t.Context(), cfg, config.RoleNeutronServer, nbapi.WithDB(a.DB()), nbapi.WithoutRegistration())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, api.Close()) })
	return &writer{t: t, api: api}
}

func (w *writer) record(wr write) {
	w.mu.Lock()
	w.writes = append(w.writes, wr)
	w.mu.Unlock()
}

// phaseWrites returns the recorded writes of phases (none: all).
func (w *writer) phaseWrites(phases ...int) []write {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []write
	for _, x := range w.writes {
		if len(phases) == 0 || slices.Contains(phases, x.phase) {
			out = append(out, x)
		}
	}
	return out
}

// loadResult is what one load phase did.
type loadResult struct {
	written, failed int
	began, ended    time.Time
}

func (r loadResult) rate() float64 { return float64(r.written) / r.ended.Sub(r.began).Seconds() }

// load writes n events spread over topics by conc goroutines per topic:
// mostly lport creates, lport updates (version + 1), deletes and lswitch
// creates; pad bytes of name make events bigger. A write that fails (the
// NB DB is down) is not recorded and its key is abandoned; the goroutine
// retries with the next op after a pause. It returns when n writes
// succeeded or ctx ended.
func (w *writer) load(ctx context.Context, phase int, topics []string, n, conc, pad int) loadResult {
	res := loadResult{began: time.Now()}
	per := n / (len(topics) * conc)
	var wg sync.WaitGroup
	var mu sync.Mutex
	padding := strings.Repeat("x", pad)
	for ti, tp := range topics {
		for g := range conc {
			count := per
			if ti == 0 && g == 0 {
				count += n - per*len(topics)*conc
			}
			wg.Go(func() {
				ok, bad := w.loadOne(ctx, phase, tp, g, count, padding)
				mu.Lock()
				res.written += ok
				res.failed += bad
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	res.ended = time.Now()
	w.mu.Lock()
	w.failed += res.failed
	w.mu.Unlock()
	return res
}

func (w *writer) loadOne(ctx context.Context, phase int, topic string, g, count int, padding string) (ok, failed int) {
	type live struct {
		key     string
		version int64
	}
	var lives []live
	pause := 5 * time.Millisecond
	for i := 0; ok < count && ctx.Err() == nil; i++ {
		at := time.Now()
		var err error
		var wr write
		switch {
		case i%10 == 9 && len(lives) > 3:
			l := lives[0]
			err = w.api.Delete(ctx, &model.LogicalPort{ID: l.key})
			wr = write{table: model.TableLogicalPort, key: l.key, action: model.ActionDelete}
			if err == nil || !isUnavailable(err) {
				lives = lives[1:]
			}
		case i%10 >= 6 && len(lives) > 0:
			j := rand.IntN(len(lives))
			lp := &model.LogicalPort{ID: lives[j].key, Name: fmt.Sprintf("u%d-%s", i, padding)}
			var changed bool
			changed, err = w.api.Update(ctx, lp)
			if err == nil && !changed {
				err = errors.New("update changed nothing")
			}
			wr = write{table: model.TableLogicalPort, key: lp.ID, action: model.ActionSet, version: lp.Version}
			if err == nil {
				lives[j].version = lp.Version
			}
		case i%20 == 5:
			sw := &model.LogicalSwitch{ID: fmt.Sprintf("sw-%d-%s-%d-%d", phase, topic, g, i), Topic: topic, Version: 1, Name: padding}
			err = w.api.Create(ctx, sw)
			wr = write{table: model.TableLogicalSwitch, key: sw.ID, action: model.ActionCreate, version: 1}
		default:
			lp := &model.LogicalPort{ID: fmt.Sprintf("lp-%d-%s-%d-%d", phase, topic, g, i), Topic: topic,
				LSwitch: "sw-" + topic, Version: 1, Name: padding}
			err = w.api.Create(ctx, lp)
			wr = write{table: model.TableLogicalPort, key: lp.ID, action: model.ActionCreate, version: 1}
			if err == nil {
				lives = append(lives, live{lp.ID, 1})
			}
		}
		wr.topic, wr.at, wr.phase = topic, at, phase
		switch {
		case err == nil:
			w.record(wr)
			ok++
			pause = 5 * time.Millisecond
		case errors.Is(err, nbapi.ErrNotPublished):
			// Written, not handed to the publisher service: the service
			// sees the seq gap on the worker hop and publishes a marker.
			w.record(wr)
			ok++
		default:
			failed++
			select { // the NB DB is down: pace the retries
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = min(2*pause, 200*time.Millisecond)
		}
	}
	return ok, failed
}

// isUnavailable reports an error after which the write may not have
// happened.
func isUnavailable(err error) bool {
	return !errors.Is(err, nb.ErrNotFound) && !errors.Is(err, nbapi.ErrNotPublished)
}

// ---------------------------------------------------------------- history

// hline is one line of a controller's --history-file
// (cmd/df-local-controller HistoryLine).
type hline struct {
	T        time.Time `json:"t"`
	Kind     string    `json:"kind"`
	PID      int       `json:"pid"`
	Pub      string    `json:"pub"`
	Epoch    uint64    `json:"epoch"`
	Seq      uint64    `json:"seq"`
	Topic    string    `json:"topic"`
	Table    string    `json:"table"`
	Key      string    `json:"key"`
	Action   string    `json:"action"`
	Version  int64     `json:"version"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason"`
	Err      string    `json:"err"`
	Skipped  bool      `json:"skipped"`
	TookNS   int64     `json:"took_ns"`
	Delayed  int64     `json:"delayed_ns"`
	WaitedNS int64     `json:"waited_ns"`
}

// readHistory reads a history file; a last line cut by a SIGKILL is
// ignored.
func readHistory(path string) ([]hline, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []hline
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l hline
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			continue
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

// histStats is what one subscriber's history shows about the load.
type histStats struct {
	name          string
	lines         int
	applied       int // load events applied by event
	delivered     int // load writes whose event was delivered (any outcome)
	undelivered   int // load writes never delivered: each covered by a later gap or resync
	gaps, resyncs map[string]int
	lastApplied   time.Time
}

// checkHistory checks one subscriber's history against the writes of the
// load: no (table, key, version) of a versioned table applied twice; per (publisher, epoch,
// topic) the seqs strictly increase (per process incarnation); every
// write not delivered by an event has a gap or a resync of its topic after
// it was written. Gaps and resyncs are counted from since on.
func checkHistory(t *testing.T, name string, lines []hline, writes []write, since time.Time) histStats {
	t.Helper()
	st := histStats{name: name, lines: len(lines), gaps: map[string]int{}, resyncs: map[string]int{}}
	type stream struct {
		pub   string
		epoch uint64
		topic string
	}
	type obj struct {
		table, key, action string
		version            int64
	}
	objOf := func(table, key, action string, version int64) obj {
		if action == model.ActionDelete {
			version = 0
		} else {
			action = "" // create and set of one version are one object version
		}
		return obj{table, key, action, version}
	}
	last := map[stream]uint64{}
	applied := map[obj]int{}
	delivered := map[obj]bool{}
	var gapAt, resyncAt = map[string][]time.Time{}, map[string][]time.Time{}
	for _, l := range lines {
		switch l.Kind {
		case "start":
			clear(last) // a new incarnation starts its streams afresh
		case "event":
			if l.Pub != "" {
				s := stream{l.Pub, l.Epoch, l.Topic}
				require.Greater(t, l.Seq, last[s], "%s: seq of %v went backwards or repeated", name, s)
				last[s] = l.Seq
			}
			o := objOf(l.Table, l.Key, l.Action, l.Version)
			delivered[o] = true
			// Versioned tables only: unversioned rows (publisher, chassis:
			// relayed last-write-wins, rewritten on re-registration) may
			// legitimately be applied again with the same (zero) version.
			if l.Outcome == "applied" && slices.Contains(loadTables, l.Table) {
				applied[o]++
				require.Equal(t, 1, applied[o], "%s: %+v applied twice", name, o)
			}
		case "gap":
			gapAt[l.Topic] = append(gapAt[l.Topic], l.T)
			if !l.T.Before(since) {
				st.gaps[l.Reason]++
			}
		case "resync":
			if l.Err == "" && !l.Skipped {
				resyncAt[l.Topic] = append(resyncAt[l.Topic], l.T)
			}
			if !l.T.Before(since) {
				st.resyncs[l.Reason]++
			}
		}
	}
	after := func(ts []time.Time, at time.Time) bool {
		for _, x := range ts {
			if !x.Before(at) {
				return true
			}
		}
		return false
	}
	keys := map[obj]bool{}
	for _, w := range writes {
		keys[objOf(w.table, w.key, w.action, w.version)] = true
	}
	for _, l := range lines {
		if l.Kind == "event" && l.Outcome == "applied" && keys[objOf(l.Table, l.Key, l.Action, l.Version)] {
			st.applied++
			st.lastApplied = l.T
		}
	}
	var missing []string
	for _, w := range writes {
		if delivered[objOf(w.table, w.key, w.action, w.version)] {
			st.delivered++
			continue
		}
		st.undelivered++
		if !after(gapAt[w.topic], w.at) && !after(gapAt[""], w.at) && !after(resyncAt[w.topic], w.at) {
			missing = append(missing, fmt.Sprintf("%s/%s %s v%d on %s at %s", w.table, w.key, w.action, w.version,
				w.topic, w.at.Format("15:04:05.000")))
		}
	}
	require.Empty(t, missing, "%s: writes neither delivered nor followed by a gap or resync of their topic (%d)", name, len(missing))
	return st
}

// ---------------------------------------------------------------- caches

// cacheView is GET /cache.
type cacheView struct {
	Topics []string                              `json:"topics"`
	Tables map[string]map[string]json.RawMessage `json:"tables"`
}

type versioned struct {
	Topic   string `json:"topic"`
	Version int64  `json:"version"`
}

// dbView lists the NB DB rows of loadTables: table → key → version and
// topic.
func dbView(ctx context.Context, db nb.Driver) (map[string]map[string]versioned, error) {
	out := map[string]map[string]versioned{}
	for _, table := range loadTables {
		kvs, _, err := db.List(ctx, table, "")
		if err != nil {
			return nil, err
		}
		m := map[string]versioned{}
		for _, kv := range kvs {
			var v versioned
			if err := json.Unmarshal(kv.Value, &v); err != nil {
				return nil, err
			}
			m[kv.Key] = v
		}
		out[table] = m
	}
	return out, nil
}

// diffCache compares a cache with the NB DB on loadTables, restricted to
// the cache's topics (selective topology), by key and version; "" when
// equal.
func diffCache(c cacheView, db map[string]map[string]versioned) string {
	topics := map[string]bool{}
	for _, tp := range c.Topics {
		topics[tp] = true
	}
	var diffs []string
	for _, table := range loadTables {
		want := map[string]int64{}
		for k, v := range db[table] {
			tp := v.Topic
			if tp == "" {
				tp = model.DefaultTopic
			}
			if topics[tp] {
				want[k] = v.Version
			}
		}
		got := map[string]int64{}
		for k, raw := range c.Tables[table] {
			var v versioned
			_ = json.Unmarshal(raw, &v)
			got[k] = v.Version
		}
		for k, v := range want {
			if g, ok := got[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s/%s v%d missing", table, k, v))
			} else if g != v {
				diffs = append(diffs, fmt.Sprintf("%s/%s v%d cached, v%d in the NB DB", table, k, g, v))
			}
		}
		for k, v := range got {
			if _, ok := want[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s/%s v%d cached, not in the NB DB", table, k, v))
			}
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	sort.Strings(diffs)
	if len(diffs) > 5 {
		diffs = append(diffs[:5], fmt.Sprintf("... %d more", len(diffs)-5))
	}
	return strings.Join(diffs, "; ")
}

// cacheSource reads one subscriber's cache.
type cacheSource struct {
	name string
	get  func() (cacheView, error)
}

func procSources(t *testing.T, procs []*aio.Process) []cacheSource {
	var out []cacheSource
	for _, p := range procs {
		out = append(out, cacheSource{p.Name(), func() (cacheView, error) {
			var cv cacheView
			err := admin.GetJSON(t.Context(), p.Admin(), "/cache", &cv)
			return cv, err
		}})
	}
	return out
}

// waitConsistent polls until every controller's GET /cache equals the NB
// DB (diffCache) and returns when that was first seen.
func (c *cluster) waitConsistent(procs []*aio.Process, timeout time.Duration) time.Time {
	c.t.Helper()
	return c.waitCaches(procSources(c.t, procs), timeout)
}

func (c *cluster) waitCaches(srcs []cacheSource, timeout time.Duration) time.Time {
	c.t.Helper()
	var last string
	deadline := time.Now().Add(timeout)
	for {
		last = ""
		db, err := dbView(c.t.Context(), c.a.DB())
		if err == nil {
			for _, s := range srcs {
				cv, err := s.get()
				if err != nil {
					last = s.name + ": " + err.Error()
					break
				}
				if d := diffCache(cv, db); d != "" {
					last = s.name + ": " + d
					break
				}
			}
		} else {
			last = "NB DB: " + err.Error()
		}
		if last == "" {
			return time.Now()
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("caches not equal to the NB DB after %s: %s", timeout, last)
		}
		time.Sleep(100 * time.Millisecond) // polling (each poll reads every cache)
	}
}

// ---------------------------------------------------------------- report

// result is one scenario's figures, printed with t.Logf and written to
// README.md.
type result struct {
	scenario    string
	written     int
	perSub      []histStats
	consistent  time.Duration // from the end of the fault and the load
	extra       []string
	subscribers int
}

var (
	resultsMu sync.Mutex
	results   = map[string]result{}
)

func sumMaps(stats []histStats, f func(histStats) map[string]int) map[string]int {
	out := map[string]int{}
	for _, s := range stats {
		for k, v := range f(s) {
			out[k] += v
		}
	}
	return out
}

func fmtMap(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// report logs r in the fixed format and keeps it for README.md.
func report(t *testing.T, r result) {
	t.Helper()
	minA, maxA, und := -1, 0, 0
	for _, s := range r.perSub {
		if minA < 0 || s.applied < minA {
			minA = s.applied
		}
		maxA = max(maxA, s.applied)
		und += s.undelivered
	}
	t.Logf("FAULTS %s: written=%d subscribers=%d applied_by_event=min %d max %d undelivered_repaired=%d gaps={%s} resyncs={%s} consistent_after=%s",
		r.scenario, r.written, len(r.perSub), minA, maxA, und,
		fmtMap(sumMaps(r.perSub, func(s histStats) map[string]int { return s.gaps })),
		fmtMap(sumMaps(r.perSub, func(s histStats) map[string]int { return s.resyncs })), r.consistent.Round(time.Millisecond))
	for _, s := range r.perSub {
		if len(r.perSub) <= 10 {
			t.Logf("FAULTS %s:   %s applied_by_event=%d delivered=%d undelivered_repaired=%d gaps={%s} resyncs={%s}",
				r.scenario, s.name, s.applied, s.delivered, s.undelivered, fmtMap(s.gaps), fmtMap(s.resyncs))
		}
	}
	for _, e := range r.extra {
		t.Logf("FAULTS %s:   %s", r.scenario, e)
	}
	resultsMu.Lock()
	results[r.scenario] = r
	resultsMu.Unlock()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// midStream runs a load of n events and calls fault once 30 % of it is
// written; it returns the load and when fault returned (the fault ended).
func (c *cluster) midStream(n, conc, pad int, fault func()) (loadResult, time.Time) {
	c.t.Helper()
	done := make(chan loadResult, 1)
	go func() { done <- c.w.load(c.t.Context(), 1, c.topics, n, conc, pad) }()
	var res loadResult
	finished := false
	for !finished && len(c.w.phaseWrites(1)) < n*3/10 {
		select {
		case res = <-done:
			finished = true
		case <-time.After(5 * time.Millisecond): // polling the writer
		}
	}
	fault()
	ended := time.Now()
	if !finished {
		res = <-done
	}
	return res, ended
}

// checkAll checks every controller's history against the writes.
func (c *cluster) checkAll(writes []write, since time.Time) []histStats {
	c.t.Helper()
	var stats []histStats
	for _, p := range c.controllers() {
		lines, err := readHistory(c.histPath(p.Name()))
		require.NoError(c.t, err)
		stats = append(stats, checkHistory(c.t, p.Name(), lines, writes, since))
	}
	return stats
}
