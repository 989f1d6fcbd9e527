package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSGoName is the name of the plain nats.go peer (`dfctl bench --peers
// nats`), told apart from the dragonflow "nats" driver.
const NATSGoName = "nats.go"

// Timing of the nats.go peer.
const (
	// natsFlushTimeout bounds the flush after a subscribe (the server has
	// the subscription when it returns) and before a publisher closes.
	natsFlushTimeout = 5 * time.Second
	// natsClosedWait bounds the wait for the client's closed callback (its
	// goroutines are gone after it).
	natsClosedWait = 5 * time.Second
	// natsDropPoll is how often a subscriber reads the client's drop count
	// (nats.go's slow-consumer drops) and reports the increase as a gap.
	natsDropPoll = 20 * time.Millisecond
)

// NATSGo is plain github.com/nats-io/nats.go as a peer transport: no
// dragonflow driver, the reference's own 300-byte frame (17-byte header with
// seq, send time and kind, then the msgpack blob) as the message payload,
// against a nats-server the transport starts itself on the first
// StartPublisher (the Debian binary, see startNATS) and stops on Close.
//
// Each publisher has its own connection and subject (bench.<n>); Publish is
// nc.Publish, buffered by the client (no flush per event: nats.go's normal
// use). Each subscriber has its own connection and an asynchronous
// subscription with nats.go's default pending limits; the handler reads the
// send time from the header. Loss is what nats.go tells an application:
// messages its slow-consumer logic dropped (Subscription.Dropped, polled
// every 20 ms and reported as gaps with their count) and reconnects
// (reported as gaps of unknown size). Anything else missing is silent.
type NATSGo struct {
	logger *slog.Logger
	nextID atomic.Uint32

	mu     sync.Mutex
	broker Broker
	closed bool
}

// NewNATSGo returns the nats.go peer transport.
func NewNATSGo(logger *slog.Logger) *NATSGo {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &NATSGo{logger: logger}
}

// Name implements Transport.
func (*NATSGo) Name() string { return NATSGoName }

// Broker is the nats-server the transport started (nil: none yet).
func (t *NATSGo) Broker() Broker {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.broker
}

// Close stops the nats-server. Idempotent.
func (t *NATSGo) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.broker == nil {
		return nil
	}
	return t.broker.Close()
}

func (t *NATSGo) serverURL(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return "", errors.New("bench: nats.go: transport closed")
	}
	if t.broker == nil {
		b, err := startNATS(ctx, t.logger)
		if err != nil {
			return "", fmt.Errorf("bench: nats.go: %w", err)
		}
		t.broker = b
	}
	return t.broker.Hosts()[0], nil
}

// natsConn connects to url; closed is closed once the client has stopped.
func (t *NATSGo) natsConn(ctx context.Context, url, name string, opts ...nats.Option) (*nats.Conn, chan struct{}, error) {
	closed := make(chan struct{})
	base := []nats.Option{
		nats.Name(name),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if !errors.Is(err, nats.ErrSlowConsumer) {
				t.logger.Warn("nats.go peer: async error", "conn", name, "err", err)
			}
		}),
	}
	if dl, ok := ctx.Deadline(); ok {
		base = append(base, nats.Timeout(max(time.Until(dl), time.Millisecond)))
	}
	nc, err := nats.Connect(url, append(base, opts...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: nats.go: connect %s: %w", url, err)
	}
	return nc, closed, nil
}

// closeConn closes nc and waits for its closed callback.
func closeConn(nc *nats.Conn, closed <-chan struct{}) error {
	nc.Close()
	select {
	case <-closed:
		return nil
	case <-time.After(natsClosedWait):
		return errors.New("bench: nats.go: connection did not close")
	}
}

// StartPublisher implements Transport. The address is "<url> <subject>".
func (t *NATSGo) StartPublisher(ctx context.Context) (Publisher, error) {
	url, err := t.serverURL(ctx)
	if err != nil {
		return nil, err
	}
	subject := fmt.Sprintf("bench.%d", t.nextID.Add(1))
	nc, closed, err := t.natsConn(ctx, url, "dfbench-pub-"+subject)
	if err != nil {
		return nil, err
	}
	return &natsPublisher{nc: nc, closed: closed, subject: subject, addr: url + " " + subject, buf: RawTemplate()}, nil
}

// natsPublisher publishes reference frames on its subject.
type natsPublisher struct {
	nc      *nats.Conn
	closed  chan struct{}
	subject string
	addr    string
	buf     []byte // the frame; nats.go copies it into its write buffer
	seq     uint64 // owned by the publishing goroutine
	once    sync.Once
	err     error
}

func (p *natsPublisher) Addr() string { return p.addr }

// Publish writes seq, the send time and the kind into the frame's header and
// hands it to the client.
func (p *natsPublisher) Publish(ctx context.Context, k Kind) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.seq++
	binary.BigEndian.PutUint64(p.buf[0:8], p.seq)
	binary.BigEndian.PutUint64(p.buf[8:16], uint64(time.Now().UnixNano()))
	p.buf[16] = byte(k)
	if err := p.nc.Publish(p.subject, p.buf); err != nil {
		return fmt.Errorf("bench: nats.go: publish: %w", err)
	}
	return nil
}

// Close flushes what the client still buffers and closes the connection.
func (p *natsPublisher) Close() error {
	p.once.Do(func() {
		ferr := p.nc.FlushTimeout(natsFlushTimeout)
		if ferr != nil {
			ferr = fmt.Errorf("bench: nats.go: flush at close: %w", ferr)
		}
		p.err = errors.Join(ferr, closeConn(p.nc, p.closed))
	})
	return p.err
}

// StartSubscriber implements Transport.
func (t *NATSGo) StartSubscriber(ctx context.Context, addr string, sink Sink) (Subscriber, error) {
	url, subject, ok := strings.Cut(addr, " ")
	if !ok {
		return nil, fmt.Errorf("bench: nats.go: bad publisher address %q", addr)
	}
	s := &natsSubscriber{sink: sink, stop: make(chan struct{}), pollDone: make(chan struct{}), subDone: make(chan struct{})}
	nc, closed, err := t.natsConn(ctx, url, "dfbench-sub-"+subject,
		nats.ReconnectHandler(func(*nats.Conn) { s.reconnects.Add(1) }))
	if err != nil {
		return nil, err
	}
	s.nc, s.closed = nc, closed
	timed := sink.Timed()
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		b := m.Data
		if len(b) < rawHeaderLen {
			t.logger.Warn("nats.go peer: short message", "bytes", len(b))
			return
		}
		var ts int64
		if timed {
			ts = int64(binary.BigEndian.Uint64(b[8:16]))
		}
		sink.Event(Kind(b[16]), ts)
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: nats.go: subscribe %s: %w", subject, err), closeConn(nc, closed))
	}
	sub.SetClosedHandler(func(string) { close(s.subDone) })
	s.sub = sub
	if err := nc.FlushTimeout(natsFlushTimeout); err != nil {
		close(s.pollDone)
		return nil, errors.Join(fmt.Errorf("bench: nats.go: flush subscribe: %w", err), s.closeSub())
	}
	go s.pollDrops()
	return s, nil
}

// natsSubscriber is one connection with one asynchronous subscription.
type natsSubscriber struct {
	sink       Sink
	nc         *nats.Conn
	closed     chan struct{}
	sub        *nats.Subscription
	reconnects atomic.Uint64

	stop     chan struct{} // ends pollDrops
	pollDone chan struct{}
	subDone  chan struct{} // the subscription's delivery goroutine has ended
	once     sync.Once
	err      error
}

// pollDrops reports, as gaps, the messages nats.go dropped (slow consumer)
// and every reconnect (loss of unknown size), until stop.
func (s *natsSubscriber) pollDrops() {
	defer close(s.pollDone)
	tick := time.NewTicker(natsDropPoll)
	defer tick.Stop()
	var dropped, reconnects uint64
	for {
		select {
		case <-s.stop:
			s.reportDrops(&dropped, &reconnects)
			return
		case <-tick.C:
			s.reportDrops(&dropped, &reconnects)
		}
	}
}

func (s *natsSubscriber) reportDrops(dropped, reconnects *uint64) {
	if n, err := s.sub.Dropped(); err == nil && uint64(n) > *dropped {
		s.sink.Gap(uint64(n) - *dropped)
		*dropped = uint64(n)
	}
	for r := s.reconnects.Load(); *reconnects < r; *reconnects++ {
		s.sink.Gap(0)
	}
}

// Close reports the last drops, unsubscribes, waits for the delivery
// goroutine and closes the connection. Idempotent.
func (s *natsSubscriber) Close() error {
	s.once.Do(func() {
		close(s.stop)
		<-s.pollDone
		s.err = s.closeSub()
	})
	return s.err
}

func (s *natsSubscriber) closeSub() error {
	var errs []error
	if err := s.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		errs = append(errs, fmt.Errorf("bench: nats.go: unsubscribe: %w", err))
	}
	select {
	case <-s.subDone:
	case <-time.After(natsClosedWait):
		errs = append(errs, errors.New("bench: nats.go: subscription did not stop"))
	}
	return errors.Join(append(errs, closeConn(s.nc, s.closed))...)
}
