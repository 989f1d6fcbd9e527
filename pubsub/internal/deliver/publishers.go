package deliver

import (
	"fmt"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Publishers is the registered-publisher table of a broker subscriber, one
// that connects to no publisher and lets through the events of the
// registered ones by Meta.PublisherID. Each registration has the URI it
// was registered with (the Event.Endpoint of its events), a generation
// that changes when the id is registered anew (see Sink.PublisherGen), and
// a fence of the driver's type F: what tells events sent before the
// registration from those sent after it.
//
// Publishers is not safe for concurrent use: the subscriber's lock guards
// it. The zero value is not usable; call NewPublishers.
type Publishers[F any] struct {
	name string
	regs map[string]Registration[F]
	gen  uint64
}

// Registration is one registered publisher.
type Registration[F any] struct {
	URI   string
	Gen   uint64
	Fence F
}

// NewPublishers returns an empty table; name (the driver's) prefixes its
// errors.
func NewPublishers[F any](name string) *Publishers[F] {
	return &Publishers[F]{name: name, regs: map[string]Registration[F]{}}
}

// CheckEndpoint is RegisterPublisher's check of ep: its PublisherID must
// not be empty.
func CheckEndpoint(name string, ep pubsub.Endpoint) error {
	if ep.PublisherID == "" {
		return fmt.Errorf("%s: register publisher: empty PublisherID (URI %q)", name, ep.URI)
	}
	return nil
}

// Get returns the registration of id.
func (p *Publishers[F]) Get(id string) (Registration[F], bool) {
	r, ok := p.regs[id]
	return r, ok
}

// SetURI records uri as id's if id is registered (registering an id again
// changes nothing else) and reports whether it was.
func (p *Publishers[F]) SetURI(id, uri string) bool {
	r, ok := p.regs[id]
	if ok {
		r.URI = uri
		p.regs[id] = r
	}
	return ok
}

// Add registers id, which is not registered, under a new generation.
func (p *Publishers[F]) Add(id, uri string, fence F) Registration[F] {
	p.gen++
	r := Registration[F]{URI: uri, Gen: p.gen, Fence: fence}
	p.regs[id] = r
	return r
}

// Remove unregisters id; an unknown id is an error wrapping
// pubsub.ErrUnknownPublisher.
func (p *Publishers[F]) Remove(id string) error {
	if _, ok := p.regs[id]; !ok {
		return fmt.Errorf("%s: unregister publisher %q: %w", p.name, id, pubsub.ErrUnknownPublisher)
	}
	delete(p.regs, id)
	return nil
}

// UpdateFences calls f on the fence of every registration, which it may
// change.
func (p *Publishers[F]) UpdateFences(f func(*F)) {
	for id, r := range p.regs {
		f(&r.Fence)
		p.regs[id] = r
	}
}
