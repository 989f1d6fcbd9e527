package pubsub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Registrar registers a bound publisher, described by its Info (resolved
// URI), in the NB DB publisher table with its role, and returns what
// deregisters it. discovery.Register is the one every daemon uses.
type Registrar func(ctx context.Context, info Info) (io.Closer, error)

// Open builds a publisher with d and, when cfg.Registrar is set and the
// publisher is a network publisher (not Multiproc), registers it right after
// it is bound — the spec's "move publisher registration from
// df-publisher-service to the driver", done once here for every driver. The
// returned publisher deregisters before it closes its sockets, so
// subscribers drop it at once instead of waiting for the lease. A failed
// registration closes the publisher and returns the error.
func Open(ctx context.Context, d Driver, cfg PublisherConfig) (Publisher, error) {
	p, err := d.NewPublisher(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Registrar == nil || cfg.Multiproc {
		return p, nil
	}
	reg, err := cfg.Registrar(ctx, p.Info())
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("pubsub: register publisher %s (%s): %w", p.Info().ID, p.Info().URI, err)
	}
	return &registered{Publisher: p, reg: reg}, nil
}

// registered is a publisher with its registration.
type registered struct {
	Publisher
	reg      io.Closer
	once     sync.Once
	closeErr error
}

func (r *registered) Close() error {
	r.once.Do(func() { r.closeErr = errors.Join(r.reg.Close(), r.Publisher.Close()) })
	return r.closeErr
}

// Unwrap returns the driver's publisher, for its driver-specific methods.
func (r *registered) Unwrap() Publisher { return r.Publisher }

// Unwrap returns the driver's own publisher behind one returned by Open (p
// itself when Open added nothing; through every layer of wrappers that
// have an Unwrap method), for driver-specific methods such as
// SubscriberCounter or a driver's Stats.
func Unwrap(p Publisher) Publisher {
	for {
		u, ok := p.(interface{ Unwrap() Publisher })
		if !ok {
			return p
		}
		p = u.Unwrap()
	}
}
