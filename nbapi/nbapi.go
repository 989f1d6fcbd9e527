// Package nbapi is the NB API of a dragonflow-go process: one per process,
// built once by the daemon's main with the process's role and handed by
// reference to every component that needs it (spec: "make api_nb module
// singleton … just passing its reference"). There is no package-level
// instance.
//
// The role alone decides which configuration section's publisher and
// subscriber settings apply (config.ForRole); nothing in here branches on an
// is_neutron_server-style flag. Writes go to the NB DB first, then the change
// is published through the role's publisher, which is built exactly once.
package nbapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/drivers"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Roles, re-exported so callers need only this package.
const (
	RoleNeutronServer    = config.RoleNeutronServer
	RoleLocalController  = config.RoleLocalController
	RolePublisherService = config.RolePublisherService
)

// Errors. Compare with errors.Is.
var (
	// ErrNotPublished: the NB DB write succeeded but the change notification
	// could not be published. State is safe in the NB DB; subscribers see a
	// sequence gap and resync.
	ErrNotPublished = errors.New("nbapi: written but not published")
	// ErrSubscriberStarted: the process's subscriber was already started.
	ErrSubscriberStarted = errors.New("nbapi: subscriber already started")
	// ErrClosed: the NbApi was closed.
	ErrClosed = errors.New("nbapi: closed")
)

// NbApi is the process's NB API. Safe for concurrent use.
type NbApi struct {
	cfg       *config.Config
	role      config.Role
	settings  config.RoleSettings
	selective bool
	db        nb.Driver
	pub       pubsub.Publisher
	driver    pubsub.Driver
	ownsDB    bool
	ownsPub   bool
	log       *slog.Logger

	metrics *fabricMetrics
	reg     atomic.Pointer[discovery.Registration]

	mu        sync.Mutex
	sub       pubsub.Subscriber
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

type options struct {
	db         nb.Driver
	pub        pubsub.Publisher
	driver     pubsub.Driver
	logger     *slog.Logger
	id         string
	epoch      uint64
	noPublish  bool
	noRegister bool
	admin      string
}

// Option configures New.
type Option func(*options)

// WithDB uses an already open NB DB driver; the caller keeps ownership (Close
// does not close it). Without it, New opens [df] nb_db_driver on
// [df] remote_db_hosts.
func WithDB(d nb.Driver) Option { return func(o *options) { o.db = d } }

// WithPublisher uses p as the role's publisher; the caller keeps ownership.
// Without it, New builds the publisher from the role's settings.
func WithPublisher(p pubsub.Publisher) Option { return func(o *options) { o.pub = p } }

// WithPubSubDriver builds the publisher and subscriber with d instead of the
// driver named by [df] pub_sub_driver.
func WithPubSubDriver(d pubsub.Driver) Option { return func(o *options) { o.driver = d } }

// WithoutPublisher builds no publisher: writes are not published. For
// tools (dfctl) that only read or repair the NB DB.
func WithoutPublisher() Option { return func(o *options) { o.noPublish = true } }

// WithoutRegistration builds the network publisher without registering it in
// the publisher table (tools, tests of a publisher nobody should discover).
func WithoutRegistration() Option { return func(o *options) { o.noRegister = true } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithPublisherID overrides the publisher id (default: DefaultPublisherID).
func WithPublisherID(id string) Option { return func(o *options) { o.id = id } }

// WithAdminAddr records the process's admin endpoint (host:port) in its
// publisher row, where dfctl and df-aio find it.
func WithAdminAddr(addr string) Option { return func(o *options) { o.admin = addr } }

// DefaultPublisherID is the id of this process's publisher in role
// (discovery.NewID): never shared by two processes, even containers that
// share a hostname and repeat pids (unlike Dragonflow's "MainProcess.<fqdn>").
func DefaultPublisherID(role config.Role, host string) string {
	return discovery.NewID(string(role), host)
}

// New builds the NB API of a process in role. It opens the NB DB and builds
// the role's publisher (once) unless options supply them.
func New(ctx context.Context, cfg *config.Config, role config.Role, opts ...Option) (*NbApi, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	settings, err := cfg.ForRole(role)
	if err != nil {
		return nil, fmt.Errorf("nbapi: %w", err)
	}
	df := cfg.DF()
	a := &NbApi{
		cfg:       cfg,
		role:      role,
		settings:  settings,
		selective: df.EnableSelectiveTopologyDistribution,
		db:        o.db,
		pub:       o.pub,
		driver:    o.driver,
		log:       o.logger.With("component", "nbapi", "role", string(role)),
	}
	a.metrics = newFabricMetrics(string(settings.RegisterAs), settings.PubSubDriver, a.registered)
	if a.db == nil {
		a.db, err = nb.Open(ctx, df.NBDBDriver, nb.Config{Hosts: df.RemoteDBHosts, Logger: o.logger})
		if err != nil {
			return nil, fmt.Errorf("nbapi: [df] nb_db_driver: %w", err)
		}
		a.ownsDB = true
	}
	if a.pub == nil && !o.noPublish {
		if err := a.buildPublisher(ctx, o); err != nil {
			a.Close()
			return nil, err
		}
	}
	if a.pub != nil {
		a.pub = &countingPublisher{Publisher: a.pub, m: a.metrics}
	}
	return a, nil
}

func (a *NbApi) pubsubDriver() (pubsub.Driver, error) {
	if a.driver != nil {
		return a.driver, nil
	}
	// drivers.PubSub configures drivers that read options of their own
	// (zmq with [df_zmq] CURVE keys).
	d, err := drivers.PubSub(a.cfg, a.log)
	if err != nil {
		return nil, fmt.Errorf("nbapi: %w", err)
	}
	a.driver = d
	return d, nil
}

func (a *NbApi) buildPublisher(ctx context.Context, o options) error {
	d, err := a.pubsubDriver()
	if err != nil {
		return err
	}
	pc, err := a.publisherConfig(o)
	if err != nil {
		return err
	}
	p, err := pubsub.Open(ctx, d, pc)
	if err != nil {
		return fmt.Errorf("nbapi: build %s publisher for role %s: %w", a.settings.PubSubDriver, a.role, err)
	}
	a.pub, a.ownsPub = p, true
	return nil
}

// publisherConfig derives the publisher's settings from the role's section:
// multiproc roles push to the local publisher service's IPC socket, others
// bind their own network publisher.
func (a *NbApi) publisherConfig(o options) (pubsub.PublisherConfig, error) {
	s := a.settings
	mode, err := model.ParseWireMode(s.WireMode)
	if err != nil {
		return pubsub.PublisherConfig{}, fmt.Errorf("nbapi: [df] wire_mode: %w", err)
	}
	id := o.id
	if id == "" {
		id = DefaultPublisherID(a.role, s.Host)
	}
	epoch := o.epoch
	if epoch == 0 {
		epoch = pubsub.NewEpoch()
	}
	pc := pubsub.PublisherConfig{
		ID: id, Epoch: epoch, Role: string(s.RegisterAs), WireMode: mode,
		Hosts: s.PubSubHosts, Logger: a.log,
	}
	if !o.noRegister {
		pc.Registrar = a.registrar(epoch, o.admin)
	}
	if s.UseMultiproc {
		pc.ListenURI = "ipc://" + s.MultiprocSocket
		pc.Multiproc = true
		return pc, nil
	}
	host, err := s.AdvertiseHost()
	if err != nil {
		return pubsub.PublisherConfig{}, fmt.Errorf("nbapi: %w", err)
	}
	pc.AdvertiseHost = host
	pc.ListenURI = "tcp://" + net.JoinHostPort(s.BindAddress, strconv.Itoa(s.PublisherPort))
	return pc, nil
}

// registrar registers the role's network publisher in the NB DB publisher
// table on a lease of [df] publisher_timeout, with the role it registers as.
// The registration lives as long as the publisher, not as long as New's ctx.
func (a *NbApi) registrar(epoch uint64, admin string) pubsub.Registrar {
	return func(ctx context.Context, info pubsub.Info) (io.Closer, error) {
		reg, err := discovery.Register(context.WithoutCancel(ctx), a.db, discovery.PublisherInfo{
			ID: info.ID, Role: string(a.settings.RegisterAs), URI: info.URI,
			Host: a.settings.Host, PID: os.Getpid(), Epoch: epoch, Admin: admin,
		}, discovery.WithTTL(a.settings.PublisherTimeout), discovery.WithLogger(a.log))
		if err != nil {
			return nil, err
		}
		a.reg.Store(reg)
		return reg, nil
	}
}

// Role is the role the NbApi was built with.
func (a *NbApi) Role() config.Role { return a.role }

// Settings are the role's resolved publisher/subscriber settings.
func (a *NbApi) Settings() config.RoleSettings { return a.settings }

// DB is the NB DB driver.
func (a *NbApi) DB() nb.Driver { return a.db }

// Publisher is the role's publisher (nil when built WithoutPublisher). It is
// built once; every caller gets the same one.
func (a *NbApi) Publisher() pubsub.Publisher { return a.pub }

// StartSubscriber builds and starts the process's subscriber with the role's
// pub/sub driver. A process has one; a second call fails with
// ErrSubscriberStarted. The NbApi owns it and closes it in Close.
func (a *NbApi) StartSubscriber(ctx context.Context, sc pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	if a.sub != nil {
		return nil, ErrSubscriberStarted
	}
	d, err := a.pubsubDriver()
	if err != nil {
		return nil, err
	}
	if sc.Logger == nil {
		sc.Logger = a.log
	}
	if sc.Hosts == nil {
		sc.Hosts = a.settings.PubSubHosts
	}
	if onEvent := sc.OnEvent; onEvent != nil {
		sc.OnEvent = func(ev pubsub.Event) { a.metrics.onEvent(ev); onEvent(ev) }
	}
	onGap := sc.OnGap
	sc.OnGap = func(g pubsub.Gap) {
		a.metrics.onGap(g)
		if onGap != nil {
			onGap(g)
		}
	}
	s, err := d.NewSubscriber(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("nbapi: start subscriber for role %s: %w", a.role, err)
	}
	a.sub = s
	return s, nil
}

// registered reports whether the publisher holds a live registration.
func (a *NbApi) registered() bool {
	reg := a.reg.Load()
	if reg == nil {
		return false
	}
	select {
	case <-reg.Done():
		return false
	default:
		return !reg.Stats().Lost
	}
}

// subscriber is the started subscriber, or nil.
func (a *NbApi) subscriber() pubsub.Subscriber {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sub
}

// Close closes what the NbApi owns (subscriber, publisher, NB DB); idempotent.
func (a *NbApi) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		sub := a.sub
		a.mu.Unlock()
		var errs []error
		if sub != nil {
			errs = append(errs, sub.Close())
		}
		if a.ownsPub && a.pub != nil {
			errs = append(errs, a.pub.Close())
		}
		if a.ownsDB && a.db != nil {
			errs = append(errs, a.db.Close())
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}
