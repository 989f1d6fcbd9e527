package etcd

import (
	"context"
	"fmt"
	"net/url"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/model"
	nbetcd "github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/gate"
)

// Publisher publishes by putting each event's body on its topic's key.
type Publisher struct {
	db   *nbetcd.Driver
	cli  *clientv3.Client
	info pubsub.Info
	mode model.WireMode
	seq  *pubsub.Sequencer

	gate *gate.Gate // orders stamping and putting, bounds both; guards buf
	buf  []byte

	closeOnce sync.Once
	closeErr  error
}

var _ pubsub.Publisher = (*Publisher)(nil)

func newPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (*Publisher, error) {
	if cfg.ID == "" {
		return nil, fmt.Errorf("etcd: new publisher: empty ID")
	}
	timeout := cfg.PublishTimeout
	if timeout <= 0 {
		timeout = pubsub.DefaultPublishTimeout
	}
	log := logger(cfg.Logger).With("driver", "etcd", "publisher", cfg.ID)
	db, err := dial(ctx, cfg.Hosts, log)
	if err != nil {
		return nil, fmt.Errorf("etcd: new publisher %s: %w", cfg.ID, err)
	}
	return &Publisher{
		db:   db,
		cli:  db.Client(),
		info: pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: ClusterURI(cfg.Hosts) + "/publisher/" + url.PathEscape(cfg.ID)},
		mode: cfg.WireMode,
		seq:  pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		gate: gate.New("etcd", cfg.ID, timeout),
	}, nil
}

// Publish implements pubsub.Publisher: one Put of the body on
// Key(u.TopicOrDefault()). Concurrent calls are serialised (stamp and Put
// in one order, so seqs and revisions agree); the wait for its turn and
// the Put share one bound, PublishTimeout (or ctx). When Publish returns
// nil the event is committed: every subscriber watching the topic gets it,
// at its revision, even one that is disconnected now. A failed Publish
// consumed its seq, so subscribers see the loss as a gap.
func (p *Publisher) Publish(ctx context.Context, u model.DbUpdate) error {
	bound, leave, err := p.gate.Enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	topic := u.TopicOrDefault()
	p.buf = model.AppendBody(p.buf[:0], u, p.seq.Stamp(topic), p.mode)
	_, err = p.cli.Put(bound, Key(topic), string(p.buf))
	if cap(p.buf) > 1<<20 {
		p.buf = nil // do not keep a huge event's buffer
	}
	switch {
	case err == nil:
		return nil
	case bound.Err() != nil:
		// ctx's own error when ctx ended, else ErrPublishTimeout; then
		// etcd's.
		return fmt.Errorf("etcd: publish as %s on %q: %w: %w", p.info.ID, topic, gate.Err(ctx, bound), err)
	}
	return fmt.Errorf("etcd: publish as %s on %q: %w", p.info.ID, topic, err)
}

// Info implements pubsub.Publisher. URI is ClusterURI of the hosts plus
// "/publisher/<id>": it names the etcd cluster in the publisher table, and
// the id keeps it unique, since discovery de-duplicates rows by uri (two
// publishers on one cluster must not look like one).
func (p *Publisher) Info() pubsub.Info { return p.info }

// Close waits for a running Publish (at most its bound), then closes the
// etcd client. Idempotent; returns the first result every time.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.gate.Close() // waits for a running Publish
		if err := p.db.Close(); err != nil {
			p.closeErr = fmt.Errorf("etcd: close publisher %s: %w", p.info.ID, err)
		}
	})
	return p.closeErr
}
