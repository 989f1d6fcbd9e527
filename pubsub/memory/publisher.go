package memory

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Scheme prefixes every memory URI.
const Scheme = "mem://"

// Publisher is a memory publisher: Publish stamps the event, encodes it once
// and offers the same body to every attached subscriber whose topics match
// (publisher-side filtering, as ZeroMQ's PUB socket). Offering never blocks:
// a subscriber with a full queue drops the event and reports the loss itself.
type Publisher struct {
	hub  *Hub
	info pubsub.Info
	mode model.WireMode
	seq  *pubsub.Sequencer

	mu     sync.Mutex // orders stamping and fan-out; guards closed and subs
	closed bool
	subs   map[*Subscriber]struct{}
}

var _ pubsub.Publisher = (*Publisher)(nil)

// URI returns the mem:// URI a publisher config binds: ListenURI when it is a
// mem:// URI, otherwise "mem://<ID>" (so a config written for a network
// driver works unchanged).
func URI(cfg pubsub.PublisherConfig) string {
	if strings.HasPrefix(cfg.ListenURI, Scheme) && len(cfg.ListenURI) > len(Scheme) {
		return cfg.ListenURI
	}
	return Scheme + cfg.ID
}

func newPublisher(ctx context.Context, hub *Hub, cfg pubsub.PublisherConfig) (*Publisher, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memory: new publisher: %w", err)
	}
	if cfg.ID == "" {
		return nil, fmt.Errorf("memory: new publisher: empty ID")
	}
	p := &Publisher{
		hub:  hub,
		info: pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: URI(cfg)},
		mode: cfg.WireMode,
		seq:  pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		subs: map[*Subscriber]struct{}{},
	}
	if err := hub.bind(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Publish implements pubsub.Publisher. It never waits for a subscriber: it
// returns once every matching subscriber has queued or dropped the event. It
// fails with ctx's error when ctx is already done (no seq is consumed), and
// with an error wrapping pubsub.ErrClosed after Close.
func (p *Publisher) Publish(ctx context.Context, u model.DbUpdate) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: publish: %w", err)
	}
	topic := u.TopicOrDefault()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("memory: publish as %s: %w", p.info.ID, pubsub.ErrClosed)
	}
	meta := p.seq.Stamp(topic)
	if len(p.subs) == 0 {
		return nil
	}
	msg := message{body: model.EncodeBody(u, meta, p.mode), uri: p.info.URI, topic: topic, meta: meta}
	for s := range p.subs {
		s.q.offer(msg)
	}
	return nil
}

// Subscribers returns how many subscribers are attached (the memory
// counterpart of established connections; see pubsub.SubscriberCounter).
func (p *Publisher) Subscribers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// Info implements pubsub.Publisher; URI is the bound mem:// URI.
func (p *Publisher) Info() pubsub.Info { return p.info }

// Close unbinds the URI (a new publisher may bind it at once) and detaches
// every subscriber; events they already queued are still delivered. It has
// no goroutine to wait for. Idempotent.
func (p *Publisher) Close() error {
	p.hub.unbind(p)
	return nil
}

// shut marks p closed and forgets its subscribers; called by the hub under
// its lock.
func (p *Publisher) shut() {
	p.mu.Lock()
	p.closed = true
	clear(p.subs)
	p.mu.Unlock()
}

// attach and detach are called by the hub under its lock. When detach
// returns, no Publish is offering to s any more.
func (p *Publisher) attach(s *Subscriber) {
	p.mu.Lock()
	if !p.closed {
		p.subs[s] = struct{}{}
	}
	p.mu.Unlock()
}

func (p *Publisher) detach(s *Subscriber) {
	p.mu.Lock()
	delete(p.subs, s)
	p.mu.Unlock()
}
