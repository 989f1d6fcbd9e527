package nats

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/gate"
)

// Publisher publishes on one NATS connection. Publish stamps the event
// (pubsub.Sequencer), encodes it once into a reused buffer
// (model.AppendBody), hands it to the connection (NATS copies it) and
// flushes: it returns once the broker has the event.
type Publisher struct {
	nc      *natsgo.Conn
	info    pubsub.Info
	mode    model.WireMode
	seq     *pubsub.Sequencer
	timeout time.Duration

	gate *gate.Gate // orders stamping and sending, bounds both; guards buf
	buf  []byte

	closeOnce sync.Once
	connDone  chan struct{} // closed by the connection's closed handler
}

var _ pubsub.Publisher = (*Publisher)(nil)

func newPublisher(ctx context.Context, d *Driver, cfg pubsub.PublisherConfig) (*Publisher, error) {
	if cfg.ID == "" {
		return nil, fmt.Errorf("nats: new publisher: empty ID")
	}
	timeout := cfg.PublishTimeout
	if timeout <= 0 {
		timeout = pubsub.DefaultPublishTimeout
	}
	log := logger(cfg.Logger).With("driver", "nats", "publisher", cfg.ID)
	p := &Publisher{
		mode:     cfg.WireMode,
		seq:      pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		timeout:  timeout,
		gate:     gate.New("nats", cfg.ID, timeout),
		connDone: make(chan struct{}),
	}
	nc, err := d.connect(ctx, cfg.Hosts, "df-pub-"+cfg.ID,
		// Bounds every write to the socket, so Publish cannot hang on a
		// stalled broker.
		natsgo.FlusherTimeout(timeout),
		natsgo.DisconnectErrHandler(func(_ *natsgo.Conn, err error) {
			if err != nil {
				log.Warn("nats: publisher disconnected", "err", err)
			}
		}),
		natsgo.ReconnectHandler(func(nc *natsgo.Conn) {
			log.Info("nats: publisher reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		natsgo.ErrorHandler(func(_ *natsgo.Conn, _ *natsgo.Subscription, err error) {
			log.Warn("nats: publisher connection error", "err", err)
		}),
		natsgo.ClosedHandler(func(*natsgo.Conn) { close(p.connDone) }),
	)
	if err != nil {
		return nil, fmt.Errorf("nats: new publisher %s: connect %s: %w", cfg.ID, servers(cfg.Hosts), err)
	}
	p.nc = nc
	p.info = pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: nc.ConnectedUrlRedacted() + "/publisher/" + url.PathEscape(cfg.ID)}
	return p, nil
}

// Publish implements pubsub.Publisher. It waits at most the publish timeout
// (or ctx) for its turn among concurrent Publish calls, hands the body to
// the connection and then flushes it (a PING/PONG round trip, bounded by
// what is left of the same timeout), so when Publish returns nil the broker
// has received the event and routed it to every subscription it holds
// (their outbound queues): what a subscriber does next on its own
// connection (a registration fence, see Subscriber.RegisterPublisher) is
// ordered after it. While the connection is reconnecting, the event goes to
// the client's reconnect buffer (nats' ReconnectBufSize) and Publish
// returns nil without waiting; when that buffer is full Publish fails at
// once. A failed Publish consumed its seq, so subscribers see the loss as
// a gap.
func (p *Publisher) Publish(ctx context.Context, u model.DbUpdate) error {
	bound, leave, err := p.gate.Enter(ctx)
	if err != nil {
		return err
	}
	defer leave()
	topic := u.TopicOrDefault()
	meta := p.seq.Stamp(topic)
	p.buf = model.AppendBody(p.buf[:0], u, meta, p.mode)
	err = p.nc.Publish(Subject(topic), p.buf)
	if cap(p.buf) > 1<<20 {
		p.buf = nil // do not keep a huge event's buffer
	}
	if err == nil && p.nc.IsConnected() {
		err = p.nc.FlushWithContext(bound)
	}
	if err == nil {
		return nil
	}
	var ne net.Error
	switch {
	case bound.Err() != nil:
		// ctx's own error when ctx ended, else ErrPublishTimeout.
		return fmt.Errorf("nats: publish as %s on %q: %w", p.info.ID, topic, gate.Err(ctx, bound))
	case errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Errorf("nats: publish as %s on %q: %w: %w", p.info.ID, topic, pubsub.ErrPublishTimeout, err)
	case errors.Is(err, natsgo.ErrConnectionClosed) && p.nc.IsClosed():
		return fmt.Errorf("nats: publish as %s on %q: %w: %w", p.info.ID, topic, pubsub.ErrClosed, err)
	case errors.Is(err, natsgo.ErrConnectionClosed):
		// The connection broke before the broker confirmed the event.
		return fmt.Errorf("nats: publish as %s on %q: connection lost before the broker confirmed: %w", p.info.ID, topic, err)
	}
	return fmt.Errorf("nats: publish as %s on %q: %w", p.info.ID, topic, err)
}

// Info implements pubsub.Publisher. URI is the redacted URL of the NATS
// server the publisher first connected to plus "/publisher/<id>": it names
// the cluster in the publisher table, subscribers do not use it to connect,
// and the id keeps it unique, since discovery de-duplicates rows by uri.
func (p *Publisher) Info() pubsub.Info { return p.info }

// Close flushes what is buffered (bounded by the publish timeout), closes
// the connection and waits until the client has finished with it.
// Idempotent.
func (p *Publisher) Close() error {
	p.closeOnce.Do(func() {
		p.gate.Close() // waits for a running Publish
		if p.nc.IsConnected() {
			_ = p.nc.FlushTimeout(p.timeout)
		}
		p.nc.Close()
		waitClosed(p.connDone)
	})
	return nil
}

// waitClosed waits for a connection's closed handler, which nats runs on
// its callback goroutine after the connection's own goroutines are done
// with it. The bound only guards against a client bug.
func waitClosed(done <-chan struct{}) {
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
