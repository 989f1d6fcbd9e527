package controller

// Resume state (Config.StateFile): what lets a restarted controller skip
// the full re-download.
//
// The controller writes, atomically (a temporary file in the same
// directory, synced, then renamed over the old one), a snapshot of its
// cache, its topics and local ports, the topics with a resync pending, and
// per (publisher id, epoch, topic) the seq of the last event it applied —
// every StateInterval when something changed, after the start, and at
// Close. Events and the snapshot's copy are serialised (stateMu), so the
// positions and the cache of one snapshot agree; snapshots are taken on the
// controller's goroutine between two resyncs, so a resync is either in the
// cache or still queued (then its topic is listed as pending).
//
// At start, a state file of this host is loaded: the cache, topics and
// local ports come back, the subscriber is given the positions as resume
// positions (pubsub/zmq Subscriber.Resume: the publisher replays what was
// missed from its replay buffer) and the start sync is skipped. What the
// replay cannot cover falls back to the targeted resyncs that exist anyway:
// a publisher not in the state or registered with another epoch queues a
// resync of every topic ("resume-fallback"); a position the publisher's
// buffer no longer covers shows as a gap (seq, heartbeat) of that topic; an
// epoch change as an epoch gap; pending topics are resynced
// ("resume-pending"). A file that does not parse, of another format or
// another host, is ignored with a warning: a full sync, as without one.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// stateFormat names the state file's format; another one is ignored.
const stateFormat = "dragonflow-go/controller-state/1"

// DefaultStateInterval is how often the state file is rewritten when
// something changed.
const DefaultStateInterval = time.Second

// Resync reasons of a resumed start.
const (
	ReasonResumeFallback = "resume-fallback" // a publisher the state cannot resume (new, restarted)
	ReasonResumePending  = "resume-pending"  // a resync was pending when the state was written
)

// stateDoc is the state file.
type stateDoc struct {
	Format     string                                `json:"format"`
	Host       string                                `json:"host"`
	Written    time.Time                             `json:"written"`
	Topics     []string                              `json:"topics"`
	LocalPorts map[string]string                     `json:"local_ports"`
	Pending    []string                              `json:"pending"`
	Positions  []statePos                            `json:"positions"`
	Tables     map[string]map[string]json.RawMessage `json:"tables"`
}

// statePos is the last applied seq of one (publisher, epoch, topic).
type statePos struct {
	Pub   string `json:"pub"`
	Epoch uint64 `json:"epoch"`
	Topic string `json:"topic"`
	Seq   uint64 `json:"seq"`
}

// positions are the last applied seqs per publisher; guarded by stateMu.
type pubPos struct {
	epoch uint64
	seqs  map[string]uint64
}

// resumeState is the controller's resume bookkeeping.
type resumeState struct {
	path  string
	every time.Duration

	mu  sync.Mutex // stateMu: events, gaps and the snapshot's copy
	pos map[string]*pubPos
	// pendingStreams are resumed (publisher, topic) streams that have
	// delivered nothing yet: a gap on one first means the replay did not
	// cover it (a fallback).
	pendingStreams map[[2]string]bool
	resumedEpoch   map[string]uint64 // resumed publisher → epoch
	startedAt      int64             // unix ns: events published before came from the replay

	changed      atomic.Uint64 // bumped by every change; saved compares
	saved        uint64
	resumedPubs  atomic.Uint64
	replayed     atomic.Uint64
	fallbacks    atomic.Uint64
	saves, fails atomic.Uint64
}

func newResumeState(path string, every time.Duration) *resumeState {
	if every <= 0 {
		every = DefaultStateInterval
	}
	return &resumeState{path: path, every: every, pos: map[string]*pubPos{},
		pendingStreams: map[[2]string]bool{}, resumedEpoch: map[string]uint64{}}
}

// loadState reads path; nil (and a reason, "" when the file does not
// exist) when it cannot be used.
func loadState(path, host string) (*stateDoc, string) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ""
	}
	if err != nil {
		return nil, err.Error()
	}
	var d stateDoc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, "does not parse: " + err.Error()
	}
	if d.Format != stateFormat {
		return nil, fmt.Sprintf("format %q, want %q", d.Format, stateFormat)
	}
	if d.Host != host {
		return nil, fmt.Sprintf("written by host %q, this is %q", d.Host, host)
	}
	return &d, ""
}

// writeState writes d to path atomically.
func writeState(path string, d *stateDoc) error {
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("controller: state file: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("controller: state file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("controller: state file %s: %w", path, err)
	}
	return nil
}

// observe records an event's position (before the event is applied, under
// mu, which the caller holds) and reports it as replayed when it belongs
// to a resumed stream and was published before this start.
func (r *resumeState) observeLocked(ev pubsub.Event) {
	m := ev.Meta
	if m.PublisherID == "" {
		return
	}
	topic := ev.Update.TopicOrDefault()
	p := r.pos[m.PublisherID]
	if p == nil || p.epoch != m.Epoch {
		if p != nil && m.Epoch < p.epoch {
			return
		}
		p = &pubPos{epoch: m.Epoch, seqs: map[string]uint64{}}
		r.pos[m.PublisherID] = p
	}
	if m.Seq > p.seqs[topic] {
		p.seqs[topic] = m.Seq
	}
	if e, ok := r.resumedEpoch[m.PublisherID]; ok && e == m.Epoch && m.PublishTime < r.startedAt {
		r.replayed.Add(1)
	}
	delete(r.pendingStreams, [2]string{m.PublisherID, topic})
	r.changed.Add(1)
}

// gapLocked counts a gap that hit a resumed stream before it delivered
// anything: its replay did not cover it.
func (r *resumeState) gapLocked(g pubsub.Gap) {
	if len(r.pendingStreams) == 0 {
		return
	}
	hit := false
	for k := range r.pendingStreams {
		if k[0] == g.PublisherID && (g.Topic == "" || g.Topic == k[1]) || g.PublisherID == "" {
			delete(r.pendingStreams, k)
			hit = true
		}
	}
	if hit {
		r.fallbacks.Add(1)
	}
}

// resumeState hooks of the controller.

// restoreState puts a loaded state back: topics, cache, local ports and
// the positions (returned, to give the subscriber once it exists).
func (c *Controller) restoreState(d *stateDoc) {
	for _, t := range d.Topics {
		c.cache.addTopic(t)
	}
	c.cache.restore(d.Tables)
	c.portMu.Lock()
	for port, tenant := range d.LocalPorts {
		c.topo.local[port] = tenant
		c.topo.tenants[tenant]++
	}
	c.publishLocalPorts()
	c.portMu.Unlock()
	r := c.state
	r.mu.Lock()
	for _, p := range d.Positions {
		pp := r.pos[p.Pub]
		if pp == nil || pp.epoch < p.Epoch {
			pp = &pubPos{epoch: p.Epoch, seqs: map[string]uint64{}}
			r.pos[p.Pub] = pp
		}
		if pp.epoch == p.Epoch {
			pp.seqs[p.Topic] = p.Seq
		}
	}
	r.mu.Unlock()
}

// resumer is a subscriber that resumes from positions (pubsub/zmq).
type resumer interface {
	Resume(publisherID string, epoch uint64, lastSeq map[string]uint64) error
}

// giveResume hands the restored positions to the subscriber, before
// discovery registers any publisher, and seeds first-contact detection
// with them (a resumed stream's first event has seq > 1 by design).
func (c *Controller) giveResume() {
	rs, ok := c.sub.(resumer)
	if !ok {
		c.log.Warn("the pub/sub driver cannot resume: the restored cache will be resynced")
		return
	}
	r := c.state
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, p := range r.pos {
		if err := rs.Resume(id, p.epoch, p.seqs); err != nil {
			c.log.Warn("resume", "publisher", id, "err", err)
			continue
		}
		c.contact.seed(id, p.epoch, slices.Collect(maps.Keys(p.seqs)))
		r.resumedEpoch[id] = p.epoch
		for t := range p.seqs {
			r.pendingStreams[[2]string{id, t}] = true
		}
	}
}

// resumeChecks decides, after discovery, what the restored state cannot
// cover: publishers registered that are not in it, or with another epoch
// (their topics are all resynced), and the pending topics.
func (c *Controller) resumeChecks(d *stateDoc) error {
	rows, _, err := c.api.DB().List(c.ctx, model.TablePublisher, "")
	if err != nil {
		return fmt.Errorf("controller: resume: list publishers: %w", err)
	}
	epochs := map[string]uint64{}
	for _, kv := range rows {
		var p model.Publisher
		if json.Unmarshal(kv.Value, &p) == nil {
			epochs[p.ID] = p.Epoch
		}
	}
	r := c.state
	fallback := false
	for _, id := range c.target.ids() {
		r.mu.Lock()
		p := r.pos[id]
		r.mu.Unlock()
		switch e, ok := epochs[id]; {
		case p != nil && ok && e == p.epoch:
			r.resumedPubs.Add(1)
			c.log.Info("resuming publisher from the state file", "publisher", id, "epoch", e, "topics", len(p.seqs))
		default:
			fallback = true
			r.fallbacks.Add(1)
			c.log.Info("publisher not resumable: resync", "publisher", id, "known", p != nil, "epoch", e)
		}
	}
	if fallback {
		c.requestAll(ReasonResumeFallback)
	}
	for _, t := range d.Pending {
		c.request(t, ReasonResumePending)
	}
	return nil
}

// snapshotState copies what the state file holds.
func (c *Controller) snapshotState() *stateDoc {
	d := &stateDoc{Format: stateFormat, Host: c.host, Written: time.Now().UTC()}
	c.portMu.Lock()
	d.LocalPorts = maps.Clone(c.topo.local)
	c.portMu.Unlock()
	r := c.state
	r.mu.Lock()
	d.Topics = c.cache.topicList()
	d.Tables = c.cache.snapshot()
	d.Pending = c.queue.topics()
	for id, p := range r.pos {
		for t, s := range p.seqs {
			d.Positions = append(d.Positions, statePos{Pub: id, Epoch: p.epoch, Topic: t, Seq: s})
		}
	}
	r.mu.Unlock()
	return d
}

// saveState writes the state file if something changed since the last
// write (force: anyway).
func (c *Controller) saveState(force bool) {
	r := c.state
	if r == nil {
		return
	}
	gen := r.changed.Load()
	if !force && gen == r.saved {
		return
	}
	if err := writeState(r.path, c.snapshotState()); err != nil {
		r.fails.Add(1)
		c.log.Warn("state file not written", "err", err)
		return
	}
	r.saved = gen
	r.saves.Add(1)
}

// ResumeStats are the figures of a resumed start (Config.StateFile).
type ResumeStats struct {
	// Loaded: a state file was loaded at start.
	Loaded bool
	// Publishers resumed from their positions; Replayed events delivered
	// on resumed streams that were published before this start (they came
	// from the publishers' replay buffers); Fallbacks publishers that could
	// not be resumed plus resumed streams whose first news was a gap (the
	// replay did not cover them): each repaired by a targeted resync.
	Publishers, Replayed, Fallbacks uint64
	// Saves counts state files written, SaveErrors failed writes.
	Saves, SaveErrors uint64
}

// ResumeStats returns the resume figures (zero without a state file).
func (c *Controller) ResumeStats() ResumeStats {
	r := c.state
	if r == nil {
		return ResumeStats{}
	}
	return ResumeStats{Loaded: c.resumed, Publishers: r.resumedPubs.Load(), Replayed: r.replayed.Load(),
		Fallbacks: r.fallbacks.Load(), Saves: r.saves.Load(), SaveErrors: r.fails.Load()}
}
