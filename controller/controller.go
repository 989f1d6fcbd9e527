package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/controller/activeport"
	apfake "github.com/dragonflow-go/dragonflow/controller/activeport/fake"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	psfake "github.com/dragonflow-go/dragonflow/controller/portsource/fake"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Controller is a running local controller. Its methods are safe for
// concurrent use.
type Controller struct {
	host      string
	selective bool
	syncEvery time.Duration
	clk       clock.Clock
	log       *slog.Logger
	onEvent   func(EventRecord)
	onResync  func(ResyncReport)
	onGap     func(pubsub.Gap)

	resyncJitter time.Duration
	syncLimit    *SyncLimit

	api   *nbapi.NbApi
	sub   pubsub.Subscriber
	disc  *discovery.Discovery
	admin *admin.Server
	src   portsource.Source
	det   activeport.Detector

	cache      *cache
	queue      *queue
	contact    *contacts
	control    *controlGate
	target     *target
	topo       topology
	m          *metrics
	st         counters
	rr         atomic.Uint64 // round robin over listeners
	localPorts atomic.Pointer[[]string]
	ready      atomic.Bool
	state      *resumeState // nil without Config.StateFile
	resumed    bool         // a state file was loaded at start

	portMu sync.Mutex // serialises port changes (topology, status versions)
	apMu   sync.Mutex // serialises active port writes

	ctx     context.Context
	cancel  context.CancelFunc
	donec   chan struct{}
	running bool // run was started (set by New only)

	mu        sync.Mutex
	err       error
	closeOnce sync.Once
	closeErr  error
}

// New starts the local controller of [DEFAULT] host:
//
//  1. binds the admin endpoint ([controller] admin_listen or
//     Config.AdminListen);
//  2. builds the process's one NbApi with role local-controller, which
//     binds the controller's publisher on [controller] publisher_port and
//     registers it (with the admin address) in the publisher table;
//  3. starts the subscriber on topic "D" and connects it, through
//     discovery, to the publishers of [controller] subscribe_roles, its own
//     excluded;
//  4. registers its chassis (published like any NB write);
//  5. runs a full sync of the subscribed topics, then marks itself ready
//     and starts its goroutine (resyncs on gaps, markers, new publishers;
//     the periodic sync) and the port source and active port detector.
//
// ctx bounds New only. The controller runs until Close, or until one of
// its parts fails (Done, Err). On error nothing is left running.
func New(ctx context.Context, cfg Config) (*Controller, error) {
	if cfg.Config == nil {
		return nil, errors.New("controller: no configuration")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := cfg.Clock
	if clk == nil {
		clk = clock.Real()
	}
	df := cfg.Config.DF()
	host := cfg.Config.Host()
	c := &Controller{
		host: host, selective: df.EnableSelectiveTopologyDistribution, clk: clk,
		syncEvery: df.DBSyncTime, log: log.With("component", "controller", "host", host),
		onEvent: cfg.OnEvent, onResync: cfg.OnResync, onGap: cfg.OnGap,
		resyncJitter: resyncJitter(cfg), syncLimit: cfg.SyncLimit,
		queue: newQueue(), contact: newContacts(), topo: newTopology(),
		control: newControlGate(cfg.ControlInterval, clk.Now),
		cache:   newCache(df.EnableSelectiveTopologyDistribution, clk, cfg.TombstoneTTL),
		donec:   make(chan struct{}),
	}
	if cfg.SyncInterval != 0 {
		c.syncEvery = cfg.SyncInterval
	}
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := c.start(ctx, cfg, log); err != nil {
		if !c.running {
			close(c.donec) // the goroutine never started
		}
		c.Close()
		return nil, err
	}
	c.log.Info("local controller running", "publisher", c.PublisherURI(), "admin", c.AdminAddr(),
		"subscribe_roles", c.api.Settings().SubscribeRoles, "selective", c.selective, "db_sync_time", c.syncEvery)
	return c, nil
}

// start builds everything in order; on error the caller closes what was
// built.
func (c *Controller) start(ctx context.Context, cfg Config, log *slog.Logger) error {
	ctl := cfg.Config.Controller()
	var err error
	if c.src, err = portSource(cfg, ctl); err != nil {
		return err
	}
	if c.det, err = detector(cfg, ctl); err != nil {
		return err
	}
	listen := ctl.AdminListen
	if cfg.AdminListen != "" {
		listen = cfg.AdminListen
	}
	if c.admin, err = admin.Listen(listen, log); err != nil {
		return fmt.Errorf("controller: admin endpoint ([%s] %s): %w", config.GroupController, config.OptAdminListen, err)
	}
	c.m = newMetrics(c)
	if err := c.m.register(c.admin.Registry()); err != nil {
		return err
	}
	opts := append([]nbapi.Option{nbapi.WithLogger(log), nbapi.WithAdminAddr(c.admin.Addr())}, cfg.NbApiOptions...)
	if c.api, err = nbapi.New(ctx, cfg.Config, config.RoleLocalController, opts...); err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	if err := registerAll(c.admin.Registry(), c.api.Collectors()); err != nil {
		return err
	}
	if c.api.Publisher() == nil {
		return errors.New("controller: the NbApi has no publisher (built WithoutPublisher)")
	}
	c.cache.addTopic(model.DefaultTopic)
	var doc *stateDoc
	if cfg.StateFile == "" {
		cfg.StateFile = cfg.Config.Controller().StateFile // [controller] state_file
	}
	if cfg.StateFile != "" {
		c.state = newResumeState(cfg.StateFile, cfg.StateInterval)
		c.state.startedAt = time.Now().UnixNano()
		var why string
		doc, why = loadState(cfg.StateFile, c.host)
		switch {
		case doc != nil:
			c.restoreState(doc)
			c.resumed = true
			c.log.Info("state file loaded: resuming", "path", cfg.StateFile, "written", doc.Written,
				"topics", len(doc.Topics), "positions", len(doc.Positions))
		case why != "":
			c.log.Warn("state file ignored: full sync", "path", cfg.StateFile, "reason", why)
		}
	}
	// Borrow: handleEvent keeps nothing of an event's bytes past its
	// return — the cache decodes the Value (json.Unmarshal copies) and
	// stores bytes.Clone(u.Value); records, positions and resync
	// requests keep strings only, which Borrow never reuses.
	c.sub, err = c.api.StartSubscriber(c.ctx, pubsub.SubscriberConfig{
		OnEvent: c.handleEvent, OnGap: c.handleGap, Topics: c.cache.topicList(), Logger: c.log,
		Borrow: true,
	})
	if err != nil {
		return fmt.Errorf("controller: %w", err)
	}
	if doc != nil {
		c.giveResume()
	}
	if err := c.discover(cfg); err != nil {
		return err
	}
	if err := c.registerChassis(ctx); err != nil {
		return err
	}
	if doc != nil {
		if err := c.resumeChecks(doc); err != nil {
			return err
		}
	} else if err := c.fullSync(ctx, ReasonStart); err != nil {
		return err
	}
	c.ready.Store(true)
	c.running = true
	go c.run()
	if err := c.startSources(); err != nil {
		return err
	}
	c.routes()
	c.admin.Serve()
	return nil
}

// discover connects the subscriber to the publishers of
// [controller] subscribe_roles, except the controller's own.
func (c *Controller) discover(cfg Config) error {
	var roles []string
	for _, r := range c.api.Settings().SubscribeRoles {
		roles = append(roles, string(r))
	}
	c.target = &target{sub: c.sub, c: c, known: map[string]pubsub.Endpoint{}}
	opts := append([]discovery.Option{
		discovery.WithExcludeID(c.api.Publisher().Info().ID), discovery.WithLogger(c.log),
	}, cfg.DiscoveryOptions...)
	d, err := discovery.Discover(c.ctx, c.api.DB(), c.target, roles, opts...)
	if err != nil {
		return fmt.Errorf("controller: [%s] %s %s: %w", config.GroupController, config.OptSubscribeRoles,
			strings.Join(roles, ","), err)
	}
	c.disc = d
	c.target.arm() // from now on a new publisher means a resync
	return nil
}

// portSource is Config.PortSource or the one [controller] port_source names.
func portSource(cfg Config, ctl config.ControllerSettings) (portsource.Source, error) {
	if cfg.PortSource != nil {
		return cfg.PortSource, nil
	}
	switch ctl.PortSource {
	case config.PortSourceFake:
		return psfake.New(), nil
	}
	return nil, fmt.Errorf("controller: [%s] %s = %s is not implemented yet; use %s",
		config.GroupController, config.OptPortSource, ctl.PortSource, config.PortSourceFake)
}

// detector is Config.Detector or the one [controller]
// active_port_detector names (nil for none).
func detector(cfg Config, ctl config.ControllerSettings) (activeport.Detector, error) {
	if cfg.Detector != nil {
		return cfg.Detector, nil
	}
	switch ctl.ActivePortDetector {
	case config.ActivePortDetectorFake:
		return apfake.New(), nil
	case config.ActivePortDetectorNone:
		return nil, nil
	}
	return nil, fmt.Errorf("controller: [%s] %s = %q: want %s or %s", config.GroupController,
		config.OptActivePortDetector, ctl.ActivePortDetector, config.ActivePortDetectorFake, config.ActivePortDetectorNone)
}

// startSources hands the port source and detector their handlers.
func (c *Controller) startSources() error {
	if err := c.src.Start(c.handlePort); err != nil {
		return fmt.Errorf("controller: start the port source: %w", err)
	}
	if c.det != nil {
		if err := c.det.Start(c.handleActivePort); err != nil {
			return fmt.Errorf("controller: start the active port detector: %w", err)
		}
	}
	return nil
}

// Retry bounds of a failed resync.
const (
	retryMin = 100 * time.Millisecond
	retryMax = 30 * time.Second
)

// run is the controller's goroutine: it runs queued resyncs one at a
// time, the periodic full sync and the retries of failed resyncs, and
// watches the parts whose end is fatal (subscriber, discovery, admin
// endpoint, a closed NB DB).
func (c *Controller) run() {
	defer close(c.donec)
	var periodic, retry, delayed clock.Timer
	var periodicC, retryC, delayedC <-chan time.Time
	if c.syncEvery > 0 {
		periodic = c.clk.NewTimer(jitter(c.syncEvery))
		defer periodic.Stop()
		periodicC = periodic.C()
	}
	defer func() {
		if delayed != nil {
			delayed.Stop()
		}
	}()
	failed := map[string]string{}
	delay := time.Duration(0)
	var save clock.Timer
	var saveC <-chan time.Time
	if c.state != nil {
		save = c.clk.NewTimer(c.state.every)
		defer save.Stop()
		saveC = save.C()
		c.saveState(true)
	}
	for {
		var wait time.Time
		for c.ctx.Err() == nil {
			now := c.clk.Now()
			topic, e, ok, next := c.queue.nextDue(now)
			if !ok {
				wait = next
				break
			}
			rep := c.resyncTopic(c.ctx, topic, e.reason)
			if !e.due.IsZero() {
				rep.Delayed = max(now.Sub(e.requested), 0)
			}
			if c.ctx.Err() != nil {
				return
			}
			c.recordResync(rep)
			switch {
			case rep.Err == nil:
				delay = 0
			case errors.Is(rep.Err, nb.ErrClosed):
				c.fail(rep.Err)
				return
			default:
				failed[topic] = e.reason
				if retryC == nil {
					delay = min(max(2*delay, retryMin), retryMax)
					if retry == nil {
						retry = c.clk.NewTimer(delay)
						defer retry.Stop()
					} else {
						retry.Reset(delay)
					}
					retryC = retry.C()
				}
			}
		}
		// Requests spread by ResyncJitter wait for their due time.
		delayedC = nil
		if !wait.IsZero() {
			d := max(wait.Sub(c.clk.Now()), 0)
			if delayed == nil {
				delayed = c.clk.NewTimer(d)
			} else {
				delayed.Stop()
				delayed.Reset(d)
			}
			delayedC = delayed.C()
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.queue.wake:
		case <-delayedC:
		case <-saveC:
			c.saveState(false)
			save.Reset(c.state.every)
		case <-periodicC:
			c.requestAll(ReasonPeriodic)
			periodic.Reset(jitter(c.syncEvery))
		case <-retryC:
			retryC = nil
			for t := range failed {
				c.request(t, ReasonRetry)
			}
			clear(failed)
		case <-c.sub.Done():
			c.fail(fmt.Errorf("controller: subscriber stopped: %w", errOr(c.sub.Err(), pubsub.ErrClosed)))
			return
		case <-c.disc.Done():
			c.fail(fmt.Errorf("controller: publisher discovery stopped: %w", errOr(c.disc.Err(), errors.New("no reason"))))
			return
		case <-c.admin.Done():
			c.fail(fmt.Errorf("controller: admin endpoint stopped: %w", errOr(c.admin.Err(), errors.New("no reason"))))
			return
		}
	}
}

// jitter spreads periodic syncs of many controllers started together over
// [0.9d, d]: they never all list the NB DB in the same second.
func jitter(d time.Duration) time.Duration {
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// fail records why the goroutine stops on its own (unless Close stopped it).
func (c *Controller) fail(err error) {
	if c.ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.log.Error("local controller stopped", "err", err)
}

// Done is closed when the controller's goroutine has stopped: after Close,
// or when a part failed (Err says which).
func (c *Controller) Done() <-chan struct{} { return c.donec }

// Err is nil while the controller runs and after a clean Close; after a
// failure it says what failed (the subscriber, the discovery, the admin
// endpoint, the NB DB driver closed).
func (c *Controller) Err() error {
	select {
	case <-c.donec:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close stops the controller and waits for it: the goroutine, the admin
// endpoint (and requests in flight), the port source and detector, the
// discovery, then the NbApi (subscriber, publisher — its row is revoked at
// once — and NB DB). The chassis row stays. Idempotent.
func (c *Controller) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		c.cancel()
		<-c.donec
		if c.admin != nil {
			errs = append(errs, c.admin.Close())
		}
		if c.src != nil {
			errs = append(errs, c.src.Close())
		}
		if c.det != nil {
			errs = append(errs, c.det.Close())
		}
		if c.disc != nil {
			errs = append(errs, c.disc.Close())
		}
		if c.api != nil {
			errs = append(errs, c.api.Close())
		}
		if c.running {
			c.saveState(true) // nothing changes any more
		}
		c.closeErr = errors.Join(errs...)
		if c.closeErr != nil {
			c.closeErr = fmt.Errorf("controller: close: %w", c.closeErr)
		}
		c.log.Info("local controller stopped")
	})
	return c.closeErr
}

// Host is the controller's [DEFAULT] host, its chassis id.
func (c *Controller) Host() string { return c.host }

// AdminAddr is the bound host:port of the admin endpoint.
func (c *Controller) AdminAddr() string { return c.admin.Addr() }

// PublisherID is the id of the controller's publisher.
func (c *Controller) PublisherID() string { return c.api.Publisher().Info().ID }

// PublisherURI is where subscribers reach the controller's publisher.
func (c *Controller) PublisherURI() string { return c.api.Publisher().Info().URI }

// NbApi is the controller's NB API (role local-controller).
func (c *Controller) NbApi() *nbapi.NbApi { return c.api }

// PortSource is the controller's port source (a *portsource/fake.Source
// with port_source = fake).
func (c *Controller) PortSource() portsource.Source { return c.src }

// Detector is the controller's active port detector, nil for none.
func (c *Controller) Detector() activeport.Detector { return c.det }

// Ready reports whether the first full sync has finished.
func (c *Controller) Ready() bool { return c.ready.Load() }

// Topics returns the subscribed topics, sorted.
func (c *Controller) Topics() []string { return c.cache.topicList() }

// Cached returns the cached object of table and key.
func (c *Controller) Cached(table, key string) (model.Model, bool) { return c.cache.get(table, key) }

// CacheSizes returns the number of cached objects per table.
func (c *Controller) CacheSizes() map[string]int { return c.cache.sizes() }

// resyncJitter is Config.ResyncJitter, or [controller] resync_jitter when
// it is 0; negative means none.
func resyncJitter(cfg Config) time.Duration {
	switch {
	case cfg.ResyncJitter < 0:
		return 0
	case cfg.ResyncJitter > 0:
		return cfg.ResyncJitter
	}
	return cfg.Config.Controller().ResyncJitter
}
