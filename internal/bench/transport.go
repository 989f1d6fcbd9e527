package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Kind tells measured events from warm-up events.
type Kind uint8

// Event kinds.
const (
	// KindData is an event of the measured window.
	KindData Kind = iota
	// KindWarmup is a readiness probe sent before the window; it is never
	// counted as delivered and never sampled for latency.
	KindWarmup
)

// Transport is one pub/sub implementation under test: the raw-TCP reference,
// a pubsub.Driver (Driver), or a plain broker client (NATSGo).
//
// A broker transport starts its broker in its first StartPublisher and
// returns the broker's address within Publisher.Addr; its subscribers, in
// this process or the RSS child, connect there. Resources that outlive one
// publisher (a broker it started) belong to whoever built the transport,
// who closes them after Run: such a transport implements io.Closer (see
// CloseTransports).
//
// A transport to which a scenario cannot apply implements NotApplicable;
// Run then records the reason instead of a measurement.
type Transport interface {
	// Name labels the transport's rows and must be accepted by Open, which is
	// how the RSS child process rebuilds it.
	Name() string
	// StartPublisher starts one publisher. The harness calls Publish from
	// one goroutine at a time.
	StartPublisher(ctx context.Context) (Publisher, error)
	// StartSubscriber connects one subscriber to addr (a Publisher.Addr,
	// possibly from another process) and reports what it receives to sink,
	// from one goroutine per subscriber.
	StartSubscriber(ctx context.Context, addr string, sink Sink) (Subscriber, error)
}

// Publisher is the sending side of a Transport.
type Publisher interface {
	// Addr is the opaque address subscribers pass to StartSubscriber.
	Addr() string
	// Publish sends one 300-byte event of kind k to every subscriber. The
	// send time is taken just before the event is handed over. It returns
	// when ctx is done, whatever the transport's own blocking behaviour.
	Publish(ctx context.Context, k Kind) error
	// Close stops the publisher and waits for its goroutines. Idempotent.
	Close() error
}

// Subscriber is the receiving side of a Transport.
type Subscriber interface {
	// Close disconnects and waits for the subscriber's goroutines; the sink
	// is not called after it returns. Idempotent. The harness releases a
	// blocked (stuck) sink before calling Close.
	Close() error
}

// Sink receives what one subscriber gets. Calls for one subscriber come from
// one goroutine; a call may block (that is how a stuck subscriber is made).
type Sink interface {
	// Event reports one received event and its send time in UnixNano (0 when
	// unknown).
	Event(k Kind, sentAt int64)
	// Gap reports a loss the transport detected; lost is 0 when unknown. It
	// may come from another goroutine than Event (a transport that polls
	// its client's drop count), never concurrently with itself.
	Gap(lost uint64)
	// Timed reports whether Event uses sentAt (latency is sampled). When it
	// does not, a transport whose send time costs it work the reference does
	// not do (a Driver's lookup in the publisher's stamp ring, a cache miss
	// per event and subscriber) passes 0 instead. Fixed for a sink's life.
	Timed() bool
}

// ReferenceName is the name of the raw-TCP reference transport.
const ReferenceName = "raw"

// NotApplicable is implemented by a transport to which some scenarios
// cannot apply.
type NotApplicable interface {
	// NotApplicable returns why scenario cannot apply ("" when it can).
	NotApplicable(scenario string) string
}

// Open returns the transport called name: ReferenceName for RawTCP,
// NATSGoName for the plain nats.go peer, or any registered pubsub.Driver
// (a broker driver starts its broker itself, see Driver). The RSS child
// rebuilds its transport with Open too (and never starts a broker: it only
// subscribes). logger receives the transport's own logs. Close the result
// with CloseTransports after Run.
func Open(name string, logger *slog.Logger) (Transport, error) {
	switch name {
	case ReferenceName:
		return RawTCP{}, nil
	case NATSGoName:
		return NewNATSGo(logger), nil
	case ZMQCurveName:
		return NewZMQCurve(logger)
	}
	if _, err := pubsub.Lookup(name); err != nil {
		return nil, unknownTransportError(name)
	}
	return NewDriver(name, logger)
}

// PeerNATS is what `dfctl bench --peers` calls the plain nats.go peer.
const PeerNATS = "nats"

// OpenPeer returns the transport `--peers name` names: PeerNATS (or
// NATSGoName) is plain nats.go against its own nats-server; any other name
// is Open's (a registered driver: etcd and redis start their broker).
func OpenPeer(name string, logger *slog.Logger) (Transport, error) {
	if name == PeerNATS {
		name = NATSGoName
	}
	return Open(name, logger)
}

// CloseTransports closes every transport that holds resources beyond its
// publishers (the brokers it started: io.Closer). Call it after Run.
func CloseTransports(trs []Transport) error {
	var errs []error
	for _, t := range trs {
		if c, ok := t.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("bench: close %s: %w", t.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// unknownTransportError says that name is neither the reference nor a
// registered pub/sub driver, and lists what is.
func unknownTransportError(name string) error {
	regs := pubsub.Drivers()
	list := "none: add the driver's package to drivers/drivers.go"
	if len(regs) > 0 {
		list = strings.Join(regs, ", ")
	}
	return fmt.Errorf("bench: unknown driver %q (registered pub/sub drivers: %s; peer: %s)", name, list, NATSGoName)
}
