package controller

import (
	"maps"
	"slices"
	"sync"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// target is the subscriber as the discovery drives it: connecting a
// publisher for the first time queues a resync of every subscribed topic,
// since it may have published before the connection existed (and the
// subscriber's own gap detection starts with the first event it gets).
type target struct {
	sub pubsub.Subscriber
	c   *Controller

	mu    sync.Mutex
	armed bool
	known map[string]pubsub.Endpoint
}

var _ discovery.Target = (*target)(nil)

// arm makes later new publishers trigger a resync (the ones connected
// before are covered by the start sync).
func (t *target) arm() {
	t.mu.Lock()
	t.armed = true
	t.mu.Unlock()
}

// RegisterPublisher implements discovery.Target.
func (t *target) RegisterPublisher(ep pubsub.Endpoint) error {
	if err := t.sub.RegisterPublisher(ep); err != nil {
		return err
	}
	t.mu.Lock()
	_, seen := t.known[ep.PublisherID]
	isNew := !seen
	t.known[ep.PublisherID] = ep
	armed := t.armed
	t.mu.Unlock()
	if isNew {
		t.c.log.Info("connected to publisher", "id", ep.PublisherID, "uri", ep.URI, "role", ep.Role)
		if armed {
			t.c.requestAll(ReasonNewPublisher)
		}
	}
	return nil
}

// UnregisterPublisher implements discovery.Target.
func (t *target) UnregisterPublisher(id string) error {
	t.mu.Lock()
	delete(t.known, id)
	t.mu.Unlock()
	t.c.contact.forgetPublisher(id)
	t.c.log.Info("disconnecting from publisher", "id", id)
	return t.sub.UnregisterPublisher(id)
}

// ids returns the connected publishers' ids.
func (t *target) ids() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Collect(maps.Keys(t.known))
}

// count is the number of connected publishers.
func (t *target) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.known)
}

// endpoint is the connected publisher with that id, as discovery registered
// it (uri and role from its publisher row).
func (t *target) endpoint(id string) (pubsub.Endpoint, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ep, ok := t.known[id]
	return ep, ok
}
