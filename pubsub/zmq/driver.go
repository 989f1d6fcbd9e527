package zmq

import (
	"context"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

func init() { pubsub.Register("zmq", New()) }

// Driver builds ZeroMQ-wire publishers and subscribers. It is registered as
// "zmq" with the default options; New builds one with others.
type Driver struct {
	o options
}

var _ pubsub.Driver = (*Driver)(nil)

// New returns a driver with the given options.
func New(opts ...Option) *Driver {
	d := &Driver{o: defaultOptions()}
	for _, opt := range opts {
		opt(&d.o)
	}
	return d
}

// NewPublisher binds a PUB socket on cfg.ListenURI (a *Publisher), or, with
// cfg.Multiproc, connects a PUSH socket to it (a *Pusher). ctx bounds
// nothing that blocks: the bind is immediate and a PUSH connects in the
// background.
func (d *Driver) NewPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Multiproc {
		if err := d.o.curveCheck(zmtp.PUSH); err != nil { // CURVE hook (curve.go)
			return nil, err
		}
		return newPusher(d.o, cfg)
	}
	if err := d.o.curveCheck(zmtp.PUB); err != nil { // CURVE hook (curve.go)
		return nil, err
	}
	return newPublisher(d.o, cfg)
}

// NewSubscriber returns a SUB socket (a *Subscriber) subscribed to
// cfg.Topics and connected to nothing yet: RegisterPublisher connects. ctx
// is only checked; the subscriber lives until Close.
func (d *Driver) NewSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.o.curveCheck(zmtp.SUB); err != nil { // CURVE hook (curve.go)
		return nil, err
	}
	return newSubscriber(d.o, cfg), nil
}

// NewPull binds a PULL socket on listenURI that delivers whatever PUSH peers
// send to cfg.OnEvent (see Pull). ctx is only checked.
func (d *Driver) NewPull(ctx context.Context, listenURI string, cfg pubsub.SubscriberConfig) (*Pull, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := d.o.curveCheck(zmtp.PULL); err != nil { // CURVE hook (curve.go)
		return nil, err
	}
	return newPull(d.o, listenURI, cfg)
}
