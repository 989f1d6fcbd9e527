package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// errPublishBound is the cause of a publish context that hit the
// publisher's own bound (PublishTimeout).
var errPublishBound = errors.New("publish bound reached")

// Publisher publishes on channel = topic with PUBLISH (classic pub/sub, as
// Dragonflow). One Publish at a time holds the send slot: the seq stamp
// and the PUBLISH happen in the same order, so subscribers see each
// topic's seqs in order.
//
// On a Redis Cluster it publishes through one master, picked by its id
// (spreading publishers over the masters), and sticks to it: the cluster
// bus forwards PUBLISH to every node, and one path keeps one publisher's
// events in order on every node. If that master fails, Publish reloads the
// cluster's topology and tries the others, in a fixed order, within the
// same bound; when none accepts, it returns the error — an event is never
// dropped silently (Dragonflow dropped it when no node was selected).
//
// Its send slot is not pubsub/internal/gate (the etcd and nats
// publishers'): it checks Close before ctx, tells its own bound from ctx's
// by a private cause, and its errors name the topic and the time waited;
// sharing the gate would change those errors.
type Publisher struct {
	c       *conn
	log     *slog.Logger
	info    pubsub.Info
	mode    model.WireMode
	seq     *pubsub.Sequencer
	timeout time.Duration

	slot chan struct{} // capacity 1: the send slot; guards node and buf
	node *goredis.Client
	buf  []byte

	closed    atomic.Bool
	closing   chan struct{} // closed by Close: a Publish waiting for the slot gives up
	closeOnce sync.Once
	closeErr  error
}

var _ pubsub.Publisher = (*Publisher)(nil)

func newPublisher(ctx context.Context, o Options, cfg pubsub.PublisherConfig) (*Publisher, error) {
	if cfg.ID == "" {
		return nil, errors.New("redis: new publisher: empty ID")
	}
	c, err := dial(ctx, cfg.Hosts, o)
	if err != nil {
		return nil, fmt.Errorf("redis: new publisher %s: %w", cfg.ID, err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.PublishTimeout
	if timeout <= 0 {
		timeout = pubsub.DefaultPublishTimeout
	}
	p := &Publisher{
		c:       c,
		log:     log.With("publisher", cfg.ID),
		info:    pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: publisherURI(c.uri, cfg.ID)},
		mode:    cfg.WireMode,
		seq:     pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		timeout: timeout,
		slot:    make(chan struct{}, 1),
		closing: make(chan struct{}),
	}
	return p, nil
}

// Info implements pubsub.Publisher. URI names the broker and the
// publisher (redis://host:port/publisher/<id>); nobody connects to it.
func (p *Publisher) Info() pubsub.Info { return p.info }

// Publish implements pubsub.Publisher: it stamps the event, encodes it once
// and PUBLISHes it on channel u.TopicOrDefault(). It returns when Redis has
// accepted it (handed it to the subscribers connected at that moment),
// within PublishTimeout or ctx: on the publisher's own bound the error
// wraps pubsub.ErrPublishTimeout, on ctx its error. A failed send has
// consumed its seq, so subscribers see the loss as a gap; an event is
// never dropped without an error. After Close: pubsub.ErrClosed.
func (p *Publisher) Publish(ctx context.Context, u model.DbUpdate) error {
	topic := u.TopicOrDefault()
	if p.closed.Load() {
		return fmt.Errorf("redis: publish as %s: %w", p.info.ID, pubsub.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis: publish as %s on %q: %w", p.info.ID, topic, err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, p.timeout, errPublishBound)
	defer cancel()
	select {
	case p.slot <- struct{}{}:
	case <-p.closing:
		return fmt.Errorf("redis: publish as %s: %w", p.info.ID, pubsub.ErrClosed)
	case <-ctx.Done():
		return p.ctxErr(ctx, topic, "waiting for the send slot", nil)
	}
	defer func() { <-p.slot }()
	if p.closed.Load() {
		return fmt.Errorf("redis: publish as %s: %w", p.info.ID, pubsub.ErrClosed)
	}
	p.buf = model.AppendBody(p.buf[:0], u, p.seq.Stamp(topic), p.mode)
	err := p.send(ctx, topic, p.buf)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return p.ctxErr(ctx, topic, "sending", err)
	}
	return fmt.Errorf("redis: publish as %s on %q: %w", p.info.ID, topic, err)
}

func (p *Publisher) ctxErr(ctx context.Context, topic, when string, cause error) error {
	if cause == nil {
		cause = ctx.Err()
	}
	if errors.Is(context.Cause(ctx), errPublishBound) {
		return fmt.Errorf("redis: publish as %s on %q: %w after %v %s: %w", p.info.ID, topic,
			pubsub.ErrPublishTimeout, p.timeout, when, cause)
	}
	if errors.Is(cause, ctx.Err()) {
		return fmt.Errorf("redis: publish as %s on %q: %s: %w", p.info.ID, topic, when, cause)
	}
	return fmt.Errorf("redis: publish as %s on %q: %s: %w: %w", p.info.ID, topic, when, ctx.Err(), cause)
}

// send PUBLISHes body; called with the send slot held.
func (p *Publisher) send(ctx context.Context, topic string, body []byte) error {
	if p.c.cluster == nil {
		return p.c.uni.Publish(ctx, topic, body).Err()
	}
	var errs []error
	if p.node != nil {
		err := p.node.Publish(ctx, topic, body).Err()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		p.log.Warn("redis: cluster node failed a publish; trying the others", "node", p.node.Options().Addr, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", p.node.Options().Addr, err))
	}
	tried := p.node
	p.node = nil
	masters, err := p.masters(ctx)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, m := range masters {
		if m == tried {
			continue
		}
		err := m.Publish(ctx, topic, body).Err()
		if err == nil {
			p.node = m
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.Options().Addr, err))
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("no cluster node accepted the event: %w", errors.Join(errs...))
}

// masters returns the cluster's masters (topology reloaded), in a fixed
// order starting at one chosen by the publisher's id.
func (p *Publisher) masters(ctx context.Context) ([]*goredis.Client, error) {
	var (
		mu  sync.Mutex
		all []*goredis.Client
	)
	err := p.c.cluster.ForEachMaster(ctx, func(_ context.Context, c *goredis.Client) error {
		mu.Lock()
		all = append(all, c)
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cluster topology: %w", err)
	}
	if len(all) == 0 {
		return nil, errors.New("cluster topology: no master")
	}
	slices.SortFunc(all, func(a, b *goredis.Client) int {
		switch x, y := a.Options().Addr, b.Options().Addr; {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	h := fnv.New32a()
	h.Write([]byte(p.info.ID))
	k := int(h.Sum32() % uint32(len(all)))
	return append(all[k:], all[:k]...), nil
}

// Close implements pubsub.Publisher: later Publish calls fail with
// pubsub.ErrClosed; Close waits for a Publish in flight (bounded by its
// PublishTimeout), then closes the client. Idempotent.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		close(p.closing)
		p.slot <- struct{}{}
		if err := p.c.close(); err != nil {
			p.closeErr = fmt.Errorf("redis: close publisher %s: %w", p.info.ID, err)
		}
	})
	return p.closeErr
}
