package pubservice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// Config is what New needs.
type Config struct {
	// DB is the NB DB; required. The caller keeps ownership and closes it
	// after the Service.
	DB nb.Driver
	// Settings are config.ForRole(config.RolePublisherService): the
	// [neutron] publisher_port, publisher_binding_address,
	// publisher_multiproc_socket, and [df] management_ip,
	// publisher_timeout (the registration's lease TTL; 0: the discovery
	// default), wire_mode ("" means v2) and [DEFAULT] host.
	// PublisherPort 0 binds a free port (tests).
	Settings config.RoleSettings
	// Selective ([df] enable_selective_topology_distribution) publishes
	// relayed table rows on their own topic instead of "D".
	Selective bool
	// PubSub builds the PULL and the PUB; nil: zmq.New(zmq.WithLogger(Logger)).
	PubSub *zmq.Driver
	// Tables are the NB tables to relay; nil: DefaultTables(); empty
	// (non-nil): none.
	Tables []string
	// ID and Epoch of the service's publisher; defaults
	// discovery.NewID("publisher-service", host) and pubsub.NewEpoch().
	ID    string
	Epoch uint64
	// RegisterOptions are added to the registration's (discovery.WithTTL
	// and WithLogger are set from Settings and Logger).
	RegisterOptions []discovery.Option
	// Admin is the host:port of the daemon's admin endpoint, written in the
	// registration row ("" when none).
	Admin string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Service is a running publisher service. Its methods are safe for
// concurrent use.
type Service struct {
	log    *slog.Logger
	pub    *zmq.Publisher
	pull   *zmq.Pull
	reg    *discovery.Registration
	socket string
	st     counters

	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	fatal  chan error

	mu        sync.Mutex
	closing   bool
	err       error
	done      chan struct{}
	doneOnce  sync.Once
	closeOnce sync.Once
	closeErr  error
}

// New binds the PULL and the PUB, registers the PUB with role
// neutron-server, lists the relayed tables, and starts relaying (see the
// package doc). ctx bounds New only; the service runs until Close, or
// until the NB DB driver is closed (Done, Err). Errors name the option to
// fix: an ipc socket directory that cannot be created or a socket that
// cannot be bound ([neutron] publisher_multiproc_socket), a PUB that
// cannot bind ([neutron] publisher_binding_address, publisher_port), no
// address to advertise ([df] management_ip); a failed first NB DB call is
// returned as is. Nothing is left running on error.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil {
		return nil, errors.New("pubservice: no NB DB driver")
	}
	s := cfg.Settings
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "pubservice")
	driver := cfg.PubSub
	if driver == nil {
		driver = zmq.New(zmq.WithLogger(log))
	}
	if cfg.Tables == nil {
		cfg.Tables = DefaultTables()
	}
	if cfg.ID == "" {
		cfg.ID = discovery.NewID(string(config.RolePublisherService), s.Host)
	}
	if cfg.Epoch == 0 {
		cfg.Epoch = pubsub.NewEpoch()
	}
	socket, err := prepareSocket(s)
	if err != nil {
		return nil, err
	}
	svc := &Service{log: log.With("publisher", cfg.ID), socket: socket, done: make(chan struct{})}
	svc.life, svc.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := svc.start(ctx, cfg, driver); err != nil {
		svc.Close()
		return nil, err
	}
	svc.log.Info("publisher service running", "uri", svc.pub.Info().URI, "socket", svc.SocketURI(),
		"tables", cfg.Tables, "lease", int64(svc.reg.Lease()))
	return svc, nil
}

// prepareSocket checks [neutron] publisher_multiproc_socket and creates its
// directory.
func prepareSocket(s config.RoleSettings) (string, error) {
	opt := fmt.Sprintf("[%s] %s", s.Section, config.OptPublisherMultiprocSocket)
	if s.Section == "" {
		opt = fmt.Sprintf("[%s] %s", config.GroupNeutron, config.OptPublisherMultiprocSocket)
	}
	if s.MultiprocSocket == "" {
		return "", fmt.Errorf("pubservice: %s is empty: set it to the path of the ipc socket the workers push to", opt)
	}
	path, err := filepath.Abs(s.MultiprocSocket)
	if err != nil {
		return "", fmt.Errorf("pubservice: %s %q: %w", opt, s.MultiprocSocket, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("pubservice: %s %q: create its directory: %w", opt, s.MultiprocSocket, err)
	}
	return path, nil
}

// start builds everything in order; on error the caller closes what was
// built.
func (svc *Service) start(ctx context.Context, cfg Config, driver *zmq.Driver) error {
	s := cfg.Settings
	mode := model.WireV2
	if s.WireMode != "" {
		var err error
		if mode, err = model.ParseWireMode(s.WireMode); err != nil {
			return fmt.Errorf("pubservice: [df] %s: %w", config.OptWireMode, err)
		}
	}
	host, err := s.AdvertiseHost()
	if err != nil {
		return fmt.Errorf("pubservice: %w", err)
	}
	listen := "tcp://" + net.JoinHostPort(s.BindAddress, strconv.Itoa(s.PublisherPort))
	p, err := driver.NewPublisher(ctx, pubsub.PublisherConfig{
		ID: cfg.ID, Epoch: cfg.Epoch, Role: model.RoleNeutronServer, ListenURI: listen,
		AdvertiseHost: host, WireMode: mode, Logger: svc.log,
	})
	if err != nil {
		return fmt.Errorf("pubservice: bind the publisher on %s ([%s] %s, %s): %w", listen, config.GroupNeutron,
			config.OptPublisherBindingAddress, config.OptPublisherPort, err)
	}
	svc.pub = p.(*zmq.Publisher)
	rel := newRelay(svc.pub, cfg.ID, svc.log, &svc.st)
	svc.pull, err = driver.NewPull(ctx, "ipc://"+svc.socket, pubsub.SubscriberConfig{
		OnEvent: rel.onEvent, OnGap: rel.onGap, Logger: svc.log,
	})
	if err != nil {
		return fmt.Errorf("pubservice: bind [%s] %s ipc://%s (is another publisher service running?): %w",
			config.GroupNeutron, config.OptPublisherMultiprocSocket, svc.socket, err)
	}
	tables := make([]*tableRelay, 0, len(cfg.Tables))
	for _, name := range cfg.Tables {
		t := newTableRelay(cfg.DB, name, svc.pub, cfg.Selective, svc.log, &svc.st)
		if err := t.list(ctx, false); err != nil {
			return err
		}
		tables = append(tables, t)
	}
	opts := []discovery.Option{discovery.WithLogger(svc.log)}
	if s.PublisherTimeout > 0 {
		opts = append(opts, discovery.WithTTL(s.PublisherTimeout))
	}
	svc.reg, err = discovery.Register(svc.life, cfg.DB, discovery.PublisherInfo{
		ID: cfg.ID, Role: model.RoleNeutronServer, URI: svc.pub.Info().URI, Host: s.Host, Epoch: cfg.Epoch,
		Admin: cfg.Admin,
	}, append(opts, cfg.RegisterOptions...)...)
	if err != nil {
		return fmt.Errorf("pubservice: %w", err)
	}
	svc.fatal = make(chan error, len(tables))
	for _, t := range tables {
		svc.wg.Go(func() {
			if err := t.run(svc.life); err != nil {
				svc.fatal <- err
			}
		})
	}
	svc.wg.Go(svc.supervise)
	return nil
}

// supervise ends the service when the registration or a table relay stops
// on its own (the NB DB driver was closed).
func (svc *Service) supervise() {
	select {
	case <-svc.life.Done():
	case <-svc.reg.Done():
		svc.fail(svc.reg.Err())
	case err := <-svc.fatal:
		svc.fail(err)
	}
}

// fail records why the service stopped on its own and closes Done.
func (svc *Service) fail(err error) {
	svc.mu.Lock()
	if svc.closing || err == nil {
		svc.mu.Unlock()
		return
	}
	svc.err = err
	svc.mu.Unlock()
	svc.log.Error("publisher service stopped", "err", err)
	svc.doneOnce.Do(func() { close(svc.done) })
}

// Info is the service's publisher: id, epoch and the uri it registered.
func (svc *Service) Info() pubsub.Info { return svc.pub.Info() }

// SocketURI is where workers push: ipc://<absolute socket path>.
func (svc *Service) SocketURI() string { return "ipc://" + svc.socket }

// Lease is the NB DB lease of the service's publisher row (0 while lost).
func (svc *Service) Lease() nb.LeaseID { return svc.reg.Lease() }

// Registered reports whether the service's publisher row is held by a live
// lease (false while it is being re-registered, and after Close).
func (svc *Service) Registered() bool {
	select {
	case <-svc.reg.Done():
		return false
	default:
		return !svc.reg.Stats().Lost
	}
}

// Subscribers is the number of subscribers connected to the PUB.
func (svc *Service) Subscribers() int { return svc.pub.Subscribers() }

// Stats returns the counters.
func (svc *Service) Stats() Stats {
	return Stats{
		Relayed:       svc.st.relayed.Load(),
		Gaps:          svc.st.gaps.snapshot(),
		LostReported:  svc.st.lost.Load(),
		Markers:       svc.st.markers.Load(),
		TableEvents:   svc.st.tableEvents.Load(),
		TableRelists:  svc.st.tableRelists.Load(),
		PublishErrors: svc.st.publishErrors.Load(),
		Origins:       int(svc.st.origins.Load()),
		Pull:          svc.pull.Stats(),
		Pub:           svc.pub.Stats(),
	}
}

// Done is closed when the service has stopped: after Close, or on its own
// when the NB DB driver was closed (then Err is set; call Close anyway).
func (svc *Service) Done() <-chan struct{} { return svc.done }

// Err says why the service stopped on its own; nil while it runs and after
// a Close that was not preceded by a failure.
func (svc *Service) Err() error {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.err
}

// Close stops the PULL (workers' events queue up in their PUSH sockets
// until a service binds again), the table relays, the registration (its
// lease is revoked: subscribers drop the service at once) and the PUB,
// waits for every goroutine and removes the ipc socket file. Idempotent;
// it returns the revoke's error, if any.
func (svc *Service) Close() error {
	svc.closeOnce.Do(func() {
		svc.mu.Lock()
		svc.closing = true
		svc.mu.Unlock()
		var errs []error
		if svc.pull != nil {
			errs = append(errs, svc.pull.Close())
		}
		svc.cancel()
		svc.wg.Wait()
		if svc.reg != nil {
			errs = append(errs, svc.reg.Close())
		}
		if svc.pub != nil {
			errs = append(errs, svc.pub.Close())
		}
		svc.closeErr = errors.Join(errs...)
		svc.doneOnce.Do(func() { close(svc.done) })
		svc.log.Info("publisher service closed")
	})
	return svc.closeErr
}
