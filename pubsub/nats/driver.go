// Package nats is a broker pubsub.Driver on core NATS
// (github.com/nats-io/nats.go), registered as "nats".
//
// Topic T travels on subject "df." + EscapeTopic(T) (exact match; topics
// containing '.', '*', '>', '%' or whitespace are escaped reversibly), and
// the message payload is the msgpack body (model.AppendBody) with the v2
// Meta of a pubsub.Sequencer. Publishers and subscribers connect to the
// NATS URLs in their config's Hosts. Delivery is at most once: a subscriber
// reports every loss it can see — a reconnect to the broker (GapReconnect),
// an overflow of its bounded queue (GapOverflow), a skipped seq or a
// publisher restart (GapSeq, GapEpoch, through pubsub.Tracker) — and never
// drops an event silently. See README.md.
package nats

import (
	"context"
	"log/slog"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() { pubsub.Register("nats", NewDriver()) }

// DefaultReconnectWait is the pause between reconnect attempts to a
// broker, unless overridden with a nats.ReconnectWait option.
const DefaultReconnectWait = 500 * time.Millisecond

// Driver builds NATS publishers and subscribers.
type Driver struct {
	opts []natsgo.Option
}

var _ pubsub.Driver = (*Driver)(nil)

// NewDriver returns a driver; opts are applied to every connection it
// opens after the driver's own (so they may override e.g. ReconnectWait,
// or add TLS or credentials). The handlers the driver installs
// (disconnect, reconnect, closed, async error) must not be replaced.
func NewDriver(opts ...natsgo.Option) *Driver { return &Driver{opts: opts} }

// NewPublisher implements pubsub.Driver; the result is a *Publisher.
func (d *Driver) NewPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	return newPublisher(ctx, d, cfg)
}

// NewSubscriber implements pubsub.Driver; the result is a *Subscriber.
func (d *Driver) NewSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	return newSubscriber(ctx, d, cfg)
}

// servers returns the connect URL list of hosts ("nats://127.0.0.1:4222"
// when empty). A host without a scheme gets nats://.
func servers(hosts []string) string {
	if len(hosts) == 0 {
		return natsgo.DefaultURL
	}
	urls := make([]string, 0, len(hosts))
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, "://") {
			h = "nats://" + h
		}
		urls = append(urls, h)
	}
	if len(urls) == 0 {
		return natsgo.DefaultURL
	}
	return strings.Join(urls, ",")
}

// connect opens a connection with the driver's defaults, the handlers in
// own, then the driver's extra options.
func (d *Driver) connect(ctx context.Context, hosts []string, name string, own ...natsgo.Option) (*natsgo.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := []natsgo.Option{
		natsgo.Name(name),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(DefaultReconnectWait),
	}
	if dl, ok := ctx.Deadline(); ok {
		if t := time.Until(dl); t > 0 && t < natsgo.DefaultTimeout {
			opts = append(opts, natsgo.Timeout(t))
		}
	}
	opts = append(opts, d.opts...)
	opts = append(opts, own...)
	return natsgo.Connect(servers(hosts), opts...)
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
