// Package memory is an in-process pubsub.Driver, registered as "memory": a
// faithful stand-in for the ZeroMQ driver in unit tests of components that
// publish or subscribe. Publishers "bind" a mem:// URI on a Hub, subscribers
// register publishers by that URI, topics match by prefix, every event is
// encoded once with the real wire codec and decoded by each subscriber, and a
// slow subscriber loses events to its bounded queue with a reported
// GapOverflow, never silently. See README.md.
package memory

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() { pubsub.Register("memory", defaultHub.Driver()) }

// ErrAddressInUse: a live publisher is already bound to the URI (the
// in-process counterpart of EADDRINUSE).
var ErrAddressInUse = errors.New("memory: address in use")

var defaultHub = NewHub()

// DefaultHub returns the process-wide hub behind the registered "memory"
// driver: every pubsub.Lookup("memory") in a process shares it, so a
// publisher built by one component is reachable by a subscriber built by
// another. Tests that want isolation build their own with NewHub.
func DefaultHub() *Hub { return defaultHub }

// Hub is an in-process network: it maps mem:// URIs to live publishers and
// remembers which subscribers registered which URI, so a subscriber is
// connected to a publisher whenever one is bound there — including a
// publisher restarted under the same URI after the registration. The zero
// value is not usable; call NewHub. A Hub has no goroutines and needs no
// Close.
type Hub struct {
	mu   sync.Mutex
	pubs map[string]*Publisher // bound URI → live publisher
	// regs counts, per URI, the publisher ids a subscriber registered there;
	// the subscriber is attached to the URI's publisher while its count is
	// positive.
	regs map[string]map[*Subscriber]int
}

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{pubs: map[string]*Publisher{}, regs: map[string]map[*Subscriber]int{}}
}

// Driver returns a pubsub.Driver whose publishers and subscribers live on h.
func (h *Hub) Driver() *Driver { return &Driver{hub: h} }

// Driver builds publishers and subscribers on one Hub.
type Driver struct{ hub *Hub }

var _ pubsub.Driver = (*Driver)(nil)

// NewPublisher implements pubsub.Driver; the result is a *Publisher.
func (d *Driver) NewPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	return newPublisher(ctx, d.hub, cfg)
}

// NewSubscriber implements pubsub.Driver; the result is a *Subscriber.
func (d *Driver) NewSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	return newSubscriber(ctx, d.hub, cfg)
}

// bind makes p reachable at its URI and attaches the subscribers that
// registered the URI.
func (h *Hub) bind(p *Publisher) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if other, taken := h.pubs[p.info.URI]; taken {
		return fmt.Errorf("memory: bind %s: held by publisher %q: %w", p.info.URI, other.info.ID, ErrAddressInUse)
	}
	h.pubs[p.info.URI] = p
	for s := range h.regs[p.info.URI] {
		p.attach(s)
	}
	return nil
}

// unbind removes p from its URI and detaches all its subscribers; their
// registrations stay, so a publisher bound there later is attached again.
func (h *Hub) unbind(p *Publisher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pubs[p.info.URI] == p {
		delete(h.pubs, p.info.URI)
	}
	p.shut()
}

// register records that s registered one publisher id at uri, attaching s to
// the publisher bound there (if any) on the first registration.
func (h *Hub) register(s *Subscriber, uri string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.regs[uri]
	if subs == nil {
		subs = map[*Subscriber]int{}
		h.regs[uri] = subs
	}
	subs[s]++
	if p := h.pubs[uri]; p != nil && subs[s] == 1 {
		p.attach(s)
	}
}

// unregister undoes one register; the last one detaches s. When it returns,
// the URI's publisher offers s nothing more.
func (h *Hub) unregister(s *Subscriber, uri string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := h.regs[uri]
	if subs[s]--; subs[s] > 0 {
		return
	}
	delete(subs, s)
	if len(subs) == 0 {
		delete(h.regs, uri)
	}
	if p := h.pubs[uri]; p != nil {
		p.detach(s)
	}
}
