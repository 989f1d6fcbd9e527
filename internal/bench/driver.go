package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Driver benchmarks a registered pubsub.Driver. A publisher is built from
// PublisherConfig{ListenURI "tcp://127.0.0.1:0", WireMode v2}; a subscriber
// from NewSubscriber, then RegisterTopic("D") and RegisterPublisher with the
// publisher's id and Info().URI. Gaps the subscriber reports are passed to
// the sink as reported loss. Subscribers set SubscriberConfig.Borrow: the
// sink keeps nothing of an event past OnEvent, as the local controller.
//
// A broker driver (etcd, redis, nats: see brokers) has no ListenURI: the
// first StartPublisher starts its broker on loopback (embedded etcd,
// redis-server, nats-server) and every publisher and subscriber gets the
// broker's address as Hosts. The address travels in Publisher.Addr, so the
// RSS child, which never starts a publisher, reaches the same broker. The
// broker runs until Close, which whoever built the Driver calls after Run.
//
// Send times: Publish writes the time into a ring indexed by its own count
// of publishes, which equals the seq the driver's sequencer stamps (seq
// counts from 1 per publisher, epoch and topic, and the harness publishes
// one topic from one goroutine). A subscriber in the same process reads the
// ring by Meta.Seq, so latency includes everything Publish does, as for the
// reference. Elsewhere it uses Meta.PublishTime. Only sinks that sample
// latency (Sink.Timed) get send times: the ring read misses the cache on
// every event, a cost the reference (its time is in the frame) never pays.
type Driver struct {
	name   string
	drv    pubsub.Driver
	logger *slog.Logger
	data   model.DbUpdate
	warmup model.DbUpdate
	nextID atomic.Uint32

	mu    sync.Mutex
	rings map[string]*stampRing // by publisher Addr

	startBroker brokerStarter // nil: a connection driver
	bmu         sync.Mutex
	broker      Broker
	closed      bool
}

// NewDriver returns the transport for the pub/sub driver registered as
// name. logger (nil: discard) is handed to the driver.
func NewDriver(name string, logger *slog.Logger) (*Driver, error) {
	drv, err := pubsub.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	data, warmup := DriverUpdates()
	return &Driver{name: name, drv: drv, logger: logger, data: data, warmup: warmup, rings: map[string]*stampRing{},
		startBroker: brokers[name]}, nil
}

// brokerHosts starts the broker on first use and returns its hosts; nil for
// a connection driver.
func (d *Driver) brokerHosts(ctx context.Context) ([]string, error) {
	if d.startBroker == nil {
		return nil, nil
	}
	d.bmu.Lock()
	defer d.bmu.Unlock()
	if d.closed {
		return nil, fmt.Errorf("bench: %s: transport closed", d.name)
	}
	if d.broker == nil {
		b, err := d.startBroker(ctx, d.logger)
		if err != nil {
			return nil, fmt.Errorf("bench: %s: %w", d.name, err)
		}
		d.broker = b
	}
	return d.broker.Hosts(), nil
}

// Broker is the broker the transport started (nil: none yet, or a
// connection driver).
func (d *Driver) Broker() Broker {
	d.bmu.Lock()
	defer d.bmu.Unlock()
	return d.broker
}

// Close stops the broker the transport started, if any. Call it after Run,
// once every publisher and subscriber is closed. Idempotent.
func (d *Driver) Close() error {
	d.bmu.Lock()
	defer d.bmu.Unlock()
	d.closed = true
	if d.broker == nil {
		return nil
	}
	return d.broker.Close()
}

// Name implements Transport.
func (d *Driver) Name() string { return d.name }

// StartPublisher implements Transport.
func (d *Driver) StartPublisher(ctx context.Context) (Publisher, error) {
	hosts, err := d.brokerHosts(ctx)
	if err != nil {
		return nil, err
	}
	listen := "tcp://127.0.0.1:0"
	if hosts != nil {
		listen = ""
	}
	id := fmt.Sprintf(publisherIDFormat, d.nextID.Add(1))
	pub, err := d.drv.NewPublisher(ctx, pubsub.PublisherConfig{
		ID:        id,
		Epoch:     pubsub.NewEpoch(),
		Role:      string(config.RoleNeutronServer),
		ListenURI: listen,
		WireMode:  model.WireV2,
		Hosts:     hosts,
		Logger:    d.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: new publisher: %w", d.name, err)
	}
	addr := id + " " + pub.Info().URI
	if hosts != nil {
		addr += " " + strings.Join(hosts, ",")
	}
	p := &driverPublisher{d: d, pub: pub, addr: addr, ring: new(stampRing)}
	d.mu.Lock()
	d.rings[p.addr] = p.ring
	d.mu.Unlock()
	return p, nil
}

// StartSubscriber implements Transport. addr is "<publisher id> <uri>",
// followed by " <host>,<host>…" (the broker) for a broker driver.
func (d *Driver) StartSubscriber(ctx context.Context, addr string, sink Sink) (Subscriber, error) {
	f := strings.Fields(addr)
	if len(f) < 2 || len(f) > 3 {
		return nil, fmt.Errorf("bench: %s: bad publisher address %q", d.name, addr)
	}
	id, uri := f[0], f[1]
	var hosts []string
	if len(f) == 3 {
		hosts = strings.Split(f[2], ",")
	}
	d.mu.Lock()
	ring := d.rings[addr]
	d.mu.Unlock()
	timed := sink.Timed()
	sub, err := d.drv.NewSubscriber(ctx, pubsub.SubscriberConfig{
		OnEvent: func(ev pubsub.Event) {
			var ts int64
			if timed {
				ts = sentAt(ring, id, ev.Meta)
			}
			sink.Event(kindOfUpdate(ev.Update), ts)
		},
		OnGap:  func(g pubsub.Gap) { sink.Gap(g.Lost) },
		Hosts:  hosts,
		Logger: d.logger,
		// The sink keeps nothing of an event past OnEvent (a kind and a
		// time), so events may be lent: drivers that support it reuse
		// their memory (see borrowHonoured), the others ignore it.
		Borrow: true,
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: new subscriber: %w", d.name, err)
	}
	if err := sub.RegisterTopic(model.DefaultTopic); err != nil {
		return nil, closeAfter(sub, fmt.Errorf("bench: %s: register topic: %w", d.name, err))
	}
	if err := sub.RegisterPublisher(pubsub.Endpoint{PublisherID: id, URI: uri, Role: string(config.RoleNeutronServer)}); err != nil {
		return nil, closeAfter(sub, fmt.Errorf("bench: %s: register publisher %s: %w", d.name, uri, err))
	}
	return sub, nil
}

// borrowHonoured lists the drivers that honour SubscriberConfig.Borrow
// (the others deliver owned events), for the report's transport notes.
var borrowHonoured = map[string]bool{"zmq": true}

// closeAfter closes sub after a failed start and returns err (joined with
// the close error, if any).
func closeAfter(sub pubsub.Subscriber, err error) error {
	if cerr := sub.Close(); cerr != nil {
		return fmt.Errorf("%w (and close: %w)", err, cerr)
	}
	return err
}

// sentAt is the send time of the event with meta: from the publisher's ring
// when this process holds it, else the driver's own stamp.
func sentAt(ring *stampRing, pubID string, m model.Meta) int64 {
	if ring != nil && m.PublisherID == pubID {
		if ts, ok := ring.get(m.Seq); ok {
			return ts
		}
	}
	return m.PublishTime
}

// driverPublisher wraps a pubsub.Publisher.
type driverPublisher struct {
	d    *Driver
	pub  pubsub.Publisher
	addr string
	ring *stampRing
	n    uint64 // publishes so far; owned by the publishing goroutine
	once sync.Once
	err  error
}

func (p *driverPublisher) Addr() string { return p.addr }

func (p *driverPublisher) Publish(ctx context.Context, k Kind) error {
	u := &p.d.data
	if k == KindWarmup {
		u = &p.d.warmup
	}
	p.n++
	p.ring.put(p.n, time.Now().UnixNano())
	if err := p.pub.Publish(ctx, *u); err != nil {
		return fmt.Errorf("bench: %s: publish: %w", p.d.name, err)
	}
	return nil
}

func (p *driverPublisher) Close() error {
	p.once.Do(func() {
		p.d.mu.Lock()
		delete(p.d.rings, p.addr)
		p.d.mu.Unlock()
		if err := p.pub.Close(); err != nil {
			p.err = fmt.Errorf("bench: %s: close publisher: %w", p.d.name, err)
		}
	})
	return p.err
}

// ringSize is how many recent send times a stampRing keeps: 6.5 s at the
// 10k ev/s of a-lat, far beyond any latency measured.
const ringSize = 1 << 16

// stampRing maps recent seqs to send times, written by the publisher and
// read by subscribers concurrently.
type stampRing struct {
	seqs   [ringSize]atomic.Uint64
	stamps [ringSize]atomic.Int64
}

func (r *stampRing) put(seq uint64, ts int64) {
	i := seq % ringSize
	r.stamps[i].Store(ts)
	r.seqs[i].Store(seq)
}

func (r *stampRing) get(seq uint64) (int64, bool) {
	i := seq % ringSize
	if r.seqs[i].Load() != seq {
		return 0, false
	}
	return r.stamps[i].Load(), true
}
