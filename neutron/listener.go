package neutron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Defaults of ListenerConfig.
const (
	DefaultListenerTTL       = 30 * time.Second
	DefaultListenerSync      = 120 * time.Second
	DefaultListenerQueueSize = 1024
	// retryMin and retryMax bound the jittered backoff of a reconcile
	// after a failed NB DB operation.
	retryMin = 500 * time.Millisecond
	retryMax = 30 * time.Second
)

// Reasons an event on the listener topic is dropped (ListenerStats.Dropped).
const (
	DropWrongTopic    = "wrong_topic"    // not exactly listener_<host> (ZeroMQ topics match by prefix)
	DropUnknownTable  = "unknown_table"  // not lport
	DropUnknownAction = "unknown_action" // not update
	DropBadStatus     = "bad_status"     // value not ACTIVE, DOWN, BUILD or ERROR
	DropOverflow      = "overflow"       // the listener's queue was full (a reconcile follows)
	DropClosed        = "closed"         // arrived after Close
)

// ListenerConfig is what StartListener needs.
type ListenerConfig struct {
	// Nb is the process's NB API (role neutron-server); required. The
	// listener starts the NbApi's subscriber, which the NbApi owns.
	Nb *nbapi.NbApi
	// Host is [DEFAULT] host: the listener row's id and topic suffix.
	Host string
	// Admin is the process's admin endpoint (host:port), written in the
	// listener row so dfctl status finds it; "" for none.
	Admin string
	// SubscribeRoles are [neutron] subscribe_roles: the roles whose
	// publishers are discovered and connected (default local-controller).
	SubscribeRoles []string
	// TTL is [df] publisher_timeout: the lease of the listener row.
	TTL time.Duration
	// Heartbeat is how often the lease is kept alive and the row's
	// timestamp rewritten; 0 means TTL/3.
	Heartbeat time.Duration
	// SyncInterval is [df] db_sync_time: the period of the safety-net
	// reconcile.
	SyncInterval time.Duration
	// QueueSize bounds events waiting to be applied; 0 means
	// DefaultListenerQueueSize.
	QueueSize int
	// DiscoveryOptions are added to discovery.Discover's (tests).
	DiscoveryOptions []discovery.Option
	Logger           *slog.Logger
}

// Listener is the port-status consumer of one host (design §2): it keeps
// the row listener/<host> alive on an NB DB lease, subscribes to topic
// listener_<host> on the publishers of the subscribe roles (discovered in
// the publisher table, never configured), sets each reported status on
// the LogicalPort with NbApi.Update (bumping its version, publishing a
// "set"), and reconciles from the portstatus table whenever it may have
// missed a report. See the package doc.
type Listener struct {
	cfg   ListenerConfig
	log   *slog.Logger
	topic string
	nb    *nbapi.NbApi
	stats listenerCounters
	hb    *heartbeat
	disc  *discovery.Discovery

	events chan pubsub.Event
	kick   chan string

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	errMu     sync.Mutex
	err       error
	donec     chan struct{}
}

// StartListener registers the listener row, starts the subscriber on
// listener_<host>, connects it to the discovered publishers, and runs the
// listener's goroutines until Close (or the end of ctx). The first
// reconcile runs at once.
func StartListener(ctx context.Context, cfg ListenerConfig) (*Listener, error) {
	if cfg.Nb == nil || cfg.Host == "" {
		return nil, errors.New("neutron: StartListener: NbApi and host are required")
	}
	if len(cfg.SubscribeRoles) == 0 {
		cfg.SubscribeRoles = []string{model.RoleLocalController}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultListenerTTL
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = cfg.TTL / 3
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultListenerSync
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultListenerQueueSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		cfg: cfg, nb: cfg.Nb, topic: model.ListenerTopic(cfg.Host),
		log:    cfg.Logger.With("component", "listener", "host", cfg.Host),
		events: make(chan pubsub.Event, cfg.QueueSize), kick: make(chan string, 1),
		closing: make(chan struct{}), donec: make(chan struct{}),
	}
	l.stats.dropped = map[string]uint64{}
	runCtx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	hb, err := startHeartbeat(ctx, l)
	if err != nil {
		cancel()
		return nil, err
	}
	l.hb = hb
	// No Borrow: onEvent hands the Event to the run goroutine (l.events),
	// which reads Update.Value after onEvent returned.
	sub, err := l.nb.StartSubscriber(ctx, pubsub.SubscriberConfig{
		OnEvent: l.onEvent, OnGap: l.onGap, Topics: []string{l.topic}, Logger: l.log,
	})
	if err != nil {
		l.abort()
		return nil, fmt.Errorf("neutron: listener: %w", err)
	}
	l.trigger("start")
	l.disc, err = discovery.Discover(runCtx, l.nb.DB(), &reconcilingTarget{sub: sub, l: l}, cfg.SubscribeRoles,
		append([]discovery.Option{discovery.WithLogger(l.log), discovery.WithOnResync(func(r discovery.Resync) {
			if r.Registered > 0 {
				l.trigger("publisher table relisted")
			}
		})}, cfg.DiscoveryOptions...)...)
	if err != nil {
		l.abort()
		return nil, fmt.Errorf("neutron: listener: discover %v publishers: %w", cfg.SubscribeRoles, err)
	}
	l.wg.Add(2)
	go l.runHeartbeat(runCtx)
	go l.run(runCtx)
	go func() {
		l.wg.Wait()
		select {
		case <-l.closing:
		default:
			l.errMu.Lock()
			l.err = fmt.Errorf("neutron: listener stopped: %w", context.Cause(runCtx))
			l.errMu.Unlock()
		}
		close(l.donec)
	}()
	l.log.Info("port status listener started", "topic", l.topic, "roles", cfg.SubscribeRoles,
		"ttl", cfg.TTL, "sync_interval", cfg.SyncInterval)
	return l, nil
}

// abort undoes a partial start.
func (l *Listener) abort() {
	l.cancel()
	close(l.closing)
	_ = l.hb.revoke()
}

// Topic is listener_<host>.
func (l *Listener) Topic() string { return l.topic }

// Publishers are the publishers the listener is connected to now.
func (l *Listener) Publishers() []discovery.PublisherInfo { return l.disc.Publishers() }

// Done is closed when the listener's goroutines have stopped (after Close
// or the end of StartListener's ctx).
func (l *Listener) Done() <-chan struct{} { return l.donec }

// Err says why the listener stopped on its own; nil while it runs and
// after Close.
func (l *Listener) Err() error {
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.err
}

// Close stops the listener's goroutines and its discovery, waits for
// them, and revokes the lease so the listener row disappears at once.
// The subscriber belongs to the NbApi and is closed with it; events it
// still delivers are dropped. Idempotent.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		close(l.closing)
		l.cancel()
		errs := []error{l.disc.Close()}
		<-l.donec
		errs = append(errs, l.hb.revoke())
		l.closeErr = errors.Join(errs...)
		l.log.Info("port status listener stopped")
	})
	return l.closeErr
}

// reconcilingTarget connects the subscriber to discovered publishers and
// reconciles after each new one: events it sent before the connection
// are lost to this listener.
type reconcilingTarget struct {
	sub pubsub.Subscriber
	l   *Listener
}

func (t *reconcilingTarget) RegisterPublisher(ep pubsub.Endpoint) error {
	if err := t.sub.RegisterPublisher(ep); err != nil {
		return err
	}
	t.l.log.Info("connected to publisher", "publisher", ep.PublisherID, "uri", ep.URI, "role", ep.Role)
	t.l.trigger("new publisher " + ep.PublisherID)
	return nil
}

func (t *reconcilingTarget) UnregisterPublisher(id string) error {
	t.l.log.Info("disconnected from publisher", "publisher", id)
	return t.sub.UnregisterPublisher(id)
}

// onEvent runs on the subscriber's goroutine: it only queues.
func (l *Listener) onEvent(ev pubsub.Event) {
	l.stats.received.Add(1)
	select {
	case <-l.closing:
		l.drop(DropClosed, ev.Update)
		return
	default:
	}
	select {
	case l.events <- ev:
	default:
		l.drop(DropOverflow, ev.Update)
		l.trigger("queue overflow")
	}
}

// onGap runs on the subscriber's goroutine.
func (l *Listener) onGap(g pubsub.Gap) {
	l.stats.gaps.Add(1)
	l.log.Warn("port status events may be lost; reconciling", "gap", g.String())
	l.trigger("gap " + string(g.Reason))
}

// trigger asks for a reconcile; requests coalesce.
func (l *Listener) trigger(reason string) {
	select {
	case l.kick <- reason:
	default:
	}
}

func (l *Listener) drop(reason string, u model.DbUpdate) {
	l.stats.drop(reason)
	l.log.Debug("dropping event", "reason", reason, "table", u.Table, "key", u.Key, "action", u.Action, "topic", u.Topic)
}

// run is the one goroutine that writes port status: events, reconciles
// and retries are serialised, so a reconcile never undoes a newer event.
func (l *Listener) run(ctx context.Context) {
	defer l.wg.Done()
	tick := time.NewTicker(l.cfg.SyncInterval)
	defer tick.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	failures := 0
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case ev := <-l.events:
			err = l.handle(ctx, ev.Update)
		case reason := <-l.kick:
			err = l.reconcile(ctx, reason)
		case <-tick.C:
			err = l.reconcile(ctx, "periodic")
		case <-retry.C:
			err = l.reconcile(ctx, "retry")
		}
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			failures = 0
			continue
		}
		failures++
		d := backoff(failures)
		l.log.Warn("port status not applied; reconciling later", "err", err, "retry_in", d)
		retry.Reset(d)
	}
}

// backoff is a jittered exponential delay for the n-th failure in a row.
func backoff(n int) time.Duration {
	d := retryMin << min(n-1, 10)
	if d > retryMax {
		d = retryMax
	}
	return d/2 + rand.N(d/2+1)
}

// handle applies one event of the listener topic (Dragonflow's contract:
// lport / update / plain status string), or a publisher service's resync
// marker.
func (l *Listener) handle(ctx context.Context, u model.DbUpdate) error {
	if r, ok := pubservice.ParseResync(u); ok {
		l.stats.resyncMarkers.Add(1)
		return l.reconcile(ctx, "resync marker "+r.Topic)
	}
	switch {
	case u.Topic != l.topic:
		l.drop(DropWrongTopic, u)
		return nil
	case u.Table != model.TableLogicalPort:
		l.drop(DropUnknownTable, u)
		return nil
	case u.Action != model.ActionUpdate:
		l.drop(DropUnknownAction, u)
		return nil
	}
	status := string(u.Value)
	if !validStatus(status) {
		l.drop(DropBadStatus, u)
		return nil
	}
	l.stats.events.Add(1)
	res, err := l.apply(ctx, u.Key, status)
	switch res {
	case applyUnchanged:
		l.stats.unchanged.Add(1)
	case applyNoPort:
		l.stats.unknownPorts.Add(1)
	case applyDone:
		l.stats.eventsApplied.Add(1)
	}
	return err
}

func validStatus(s string) bool {
	switch s {
	case model.PortStatusActive, model.PortStatusDown, model.PortStatusBuild, model.PortStatusError:
		return true
	}
	return false
}

// applyResult says what apply did.
type applyResult int

const (
	applyFailed applyResult = iota
	applyDone
	applyUnchanged
	applyNoPort
)

// apply sets the status of port id through NbApi.Update (which bumps the
// version and publishes a "set"). A port that is gone is ignored; a write
// whose publish failed is applied (subscribers see a gap).
func (l *Listener) apply(ctx context.Context, id, status string) (applyResult, error) {
	p := &model.LogicalPort{ID: id, Status: status}
	changed, err := l.nb.Update(ctx, p)
	switch {
	case isNotFound(err):
		l.log.Debug("status for a port that does not exist", "port", id, "status", status)
		return applyNoPort, nil
	case errors.Is(err, nbapi.ErrNotPublished):
		l.stats.publishFailures.Add(1)
		l.log.Warn("port status written but not published", "port", id, "status", status, "err", err)
	case err != nil:
		return applyFailed, fmt.Errorf("neutron: listener: set port %s %s: %w", id, status, err)
	case !changed:
		return applyUnchanged, nil
	}
	l.stats.applied.Add(1)
	l.log.Info("port status", "port", id, "status", status, "revision", p.Version)
	return applyDone, nil
}

// reconcile applies every portstatus row whose status differs from its
// port's; rows of deleted ports are ignored.
func (l *Listener) reconcile(ctx context.Context, reason string) error {
	l.stats.reconciles.Add(1)
	rows, _, err := nbapi.List[model.PortStatus](ctx, l.nb, "")
	if err != nil {
		return fmt.Errorf("neutron: listener: reconcile: %w", err)
	}
	lps, _, err := nbapi.List[model.LogicalPort](ctx, l.nb, "")
	if err != nil {
		return fmt.Errorf("neutron: listener: reconcile: %w", err)
	}
	byID := make(map[string]*model.LogicalPort, len(lps))
	for _, p := range lps {
		byID[p.ID] = p
	}
	var errs []error
	fixed := 0
	for _, row := range rows {
		p, ok := byID[row.ID]
		if !ok || !validStatus(row.Status) || p.Status == row.Status {
			continue
		}
		res, err := l.apply(ctx, row.ID, row.Status)
		if err != nil {
			errs = append(errs, err)
		}
		if res == applyDone {
			fixed++
			l.stats.reconcileApplied.Add(1)
		}
	}
	l.log.Debug("reconciled port status", "reason", reason, "rows", len(rows), "fixed", fixed)
	if fixed > 0 {
		l.log.Info("reconcile repaired port status", "reason", reason, "ports", fixed)
	}
	return errors.Join(errs...)
}
