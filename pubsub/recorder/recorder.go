// Package recorder is an in-memory pubsub.Publisher that records what it is
// asked to publish, for tests of components that publish (NbApi, the
// publisher service, the controller). It stamps and encodes every event
// exactly as a network publisher does (pubsub.Sequencer, model.AppendBody),
// so tests see the real body and sequence numbers.
package recorder

import (
	"context"
	"fmt"
	"sync"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Record is one published event.
type Record struct {
	Update model.DbUpdate
	Meta   model.Meta
	// Body is the encoded wire body.
	Body []byte
}

// Recorder implements pubsub.Publisher.
type Recorder struct {
	cfg  pubsub.PublisherConfig
	info pubsub.Info
	mode model.WireMode
	seq  *pubsub.Sequencer

	mu      sync.Mutex
	records []Record
	failErr error
	closed  bool
	changed chan struct{} // closed and replaced on every record
}

// New returns a recorder publishing as cfg.ID in cfg.Epoch.
func New(cfg pubsub.PublisherConfig) *Recorder {
	return &Recorder{
		cfg:     cfg,
		info:    pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: "recorder://" + cfg.ID},
		mode:    cfg.WireMode,
		seq:     pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		changed: make(chan struct{}),
	}
}

// Publish records u. It fails with the error set by FailWith, if any.
func (r *Recorder) Publish(ctx context.Context, u model.DbUpdate) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recorder: publish: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return pubsub.ErrClosed
	}
	meta := r.seq.Stamp(u.TopicOrDefault())
	if r.failErr != nil {
		return fmt.Errorf("recorder: publish: %w", r.failErr)
	}
	r.records = append(r.records, Record{Update: u, Meta: meta, Body: model.EncodeBody(u, meta, r.mode)})
	close(r.changed)
	r.changed = make(chan struct{})
	return nil
}

// FailWith makes later Publish calls fail with err (nil: succeed again).
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	r.failErr = err
	r.mu.Unlock()
}

// Records returns a copy of what was published so far.
func (r *Recorder) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.records...)
}

// Updates returns the published updates so far.
func (r *Recorder) Updates() []model.DbUpdate {
	recs := r.Records()
	out := make([]model.DbUpdate, len(recs))
	for i, rec := range recs {
		out[i] = rec.Update
	}
	return out
}

// Changed returns a channel closed at the next Publish; for polling in tests.
func (r *Recorder) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// Config is the configuration the recorder was built with.
func (r *Recorder) Config() pubsub.PublisherConfig { return r.cfg }

// Info implements pubsub.Publisher.
func (r *Recorder) Info() pubsub.Info { return r.info }

// Close implements pubsub.Publisher; idempotent.
func (r *Recorder) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return nil
}

// Driver is a pubsub.Driver whose publishers are Recorders. It counts the
// publishers it built, so tests can check a process builds its publisher
// exactly once. It builds no subscribers.
type Driver struct {
	mu    sync.Mutex
	built []*Recorder
}

// NewPublisher implements pubsub.Driver.
func (d *Driver) NewPublisher(_ context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	r := New(cfg)
	d.mu.Lock()
	d.built = append(d.built, r)
	d.mu.Unlock()
	return r, nil
}

// NewSubscriber implements pubsub.Driver: recorders have no subscribers.
func (d *Driver) NewSubscriber(context.Context, pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	return nil, fmt.Errorf("recorder: driver has no subscriber")
}

// Built returns the publishers built so far.
func (d *Driver) Built() []*Recorder {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*Recorder(nil), d.built...)
}
