package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// ErrPeriodicResync is the Resync.Reason of a relist made because
// WithResyncInterval elapsed.
var ErrPeriodicResync = errors.New("discovery: periodic relist")

// errWatchEnded: the driver closed a watch channel without an error.
var errWatchEnded = errors.New("discovery: watch ended without an error")

// Target is what Discover drives: a pubsub.Subscriber satisfies it. Discover
// calls it from one goroutine at a time.
type Target interface {
	// RegisterPublisher connects to ep. Registering an id the target
	// already has, under another uri or role, must replace that connection
	// (de-duplication by id): Discover relies on it to move a publisher
	// without a window in which it is connected twice.
	RegisterPublisher(ep pubsub.Endpoint) error
	// UnregisterPublisher disconnects the publisher with that id. An error
	// wrapping pubsub.ErrUnknownPublisher counts as done.
	UnregisterPublisher(publisherID string) error
}

// A pubsub.Subscriber is a Target.
var _ Target = pubsub.Subscriber(nil)

// Resync describes one relist of the publisher table after the initial
// one.
type Resync struct {
	// Reason is what ended the watch: an error wrapping nb.ErrCompacted
	// (events were compacted away), another watch error (connection lost,
	// no leader), or ErrPeriodicResync.
	Reason error
	// Revision is the revision the table was listed at; the watch resumes
	// after it.
	Revision int64
	// Registered and Unregistered count the target calls the relist made:
	// membership changes the broken watch had not delivered.
	Registered, Unregistered int
}

// DiscoveryStats counts what a Discovery has done since Discover.
type DiscoveryStats struct {
	Resyncs      int64 // relists after the initial list
	InvalidRows  int64 // rows skipped because they could not be decoded or had no usable uri
	TargetErrors int64 // target calls that failed (retried)
	RetryPending bool  // some target call is waiting for its retry
}

// Discovery follows the publisher table and keeps a Target connected to
// the publishers of some roles (see Discover). Its methods are safe for
// concurrent use.
type Discovery struct {
	db     nb.Driver
	target Target
	roles  map[string]bool
	o      options
	log    *slog.Logger
	owner

	// Owned by the goroutine (see reconcile.go).
	rows   map[string]entry               // wanted rows by id
	byURI  map[string]map[string]struct{} // ids of wanted rows by uri
	rev    int64                          // the table is known up to this revision
	breaks int                            // watches in a row that ended before proving healthy

	mu    sync.Mutex
	have  map[string]PublisherInfo // registered with the target, by id
	stats DiscoveryStats
}

// Discover connects target to the publishers of roles (model.RoleNeutronServer
// and/or model.RoleLocalController) listed in the NB DB publisher table and
// keeps it connected as the table changes, until Close or the end of ctx.
//
// It lists the table before it returns, so target already holds the
// current publishers then (a failed List is returned: the caller decides
// whether to retry). Then one goroutine watches the table from the listed
// revision:
//   - a new row of a wanted role: RegisterPublisher;
//   - a row whose uri or role changed: RegisterPublisher again (the target
//     replaces the connection; never two connections for one id), or
//     UnregisterPublisher if its role is no longer wanted;
//   - a deleted row, explicitly or by lease expiry: UnregisterPublisher of
//     the id taken from the key (delete events carry no uri);
//   - rows that only refresh last_activity_timestamp cause no call.
//
// Connections are de-duplicated by id and by uri: when several rows
// advertise one uri (a restarted process whose previous row has not
// expired yet, or hosts that all advertise 127.0.0.1), only the newest
// (highest epoch, then latest created) is connected, since one address
// would otherwise deliver every event twice. Rows without a role (Python
// Dragonflow's shape) count as model.RoleNeutronServer. Rows that cannot be
// decoded, whose uri is unusable, or of WithExcludeID's id are skipped.
//
// When the watch ends with an error (nb.ErrCompacted, a lost connection),
// the goroutine lists the table again, registers and unregisters the
// difference, reports it through WithOnResync and DiscoveryStats.Resyncs,
// and watches again from the new revision; repeated failures back off.
// The subscriber's own gap detection covers events lost meanwhile; this
// covers membership. A target call that fails is logged and retried with
// backoff; it never stops the discovery. The goroutine stops on its own
// only when the driver is closed (Err wraps nb.ErrClosed).
//
// Close (or the end of ctx) stops following the table; it does not
// disconnect the target from the publishers it holds.
func Discover(ctx context.Context, db nb.Driver, target Target, roles []string, opts ...Option) (*Discovery, error) {
	if len(roles) == 0 {
		return nil, fmt.Errorf("discovery: discover: no roles to subscribe to (want %s and/or %s)",
			model.RoleNeutronServer, model.RoleLocalController)
	}
	d := &Discovery{
		db: db, target: target, o: newOptions(opts), roles: map[string]bool{},
		rows: map[string]entry{}, byURI: map[string]map[string]struct{}{}, have: map[string]PublisherInfo{},
	}
	for _, r := range roles {
		if !knownRole(r) {
			return nil, fmt.Errorf("discovery: discover: unknown role %q (want %s or %s)", r,
				model.RoleNeutronServer, model.RoleLocalController)
		}
		d.roles[r] = true
	}
	d.log = d.o.log.With("roles", strings.Join(slices.Sorted(maps.Keys(d.roles)), ","))
	res, err := d.relist(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: discover: %w", err)
	}
	d.stats.RetryPending = res.failed
	d.log.Info("publisher discovery started", "revision", d.rev, "publishers", res.registered)
	d.start(ctx, func() { d.run(res.failed) })
	return d, nil
}

// Publishers returns the publishers the target holds now, sorted by id.
func (d *Discovery) Publishers() []PublisherInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Collect(maps.Values(d.have))
	slices.SortFunc(out, func(a, b PublisherInfo) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Stats returns the counters.
func (d *Discovery) Stats() DiscoveryStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Done is closed when the discovery's goroutine has stopped: after Close,
// at the end of Discover's ctx, or when the driver was closed.
func (d *Discovery) Done() <-chan struct{} { return d.donec }

// Err says why the discovery stopped: nil while it runs and after Close;
// after the end of Discover's ctx an error wrapping ctx's cause; after the
// driver was closed an error wrapping nb.ErrClosed.
func (d *Discovery) Err() error { return d.stopped() }

// Close stops the goroutine and waits for it; no target call is made after
// it returns. Idempotent; always nil.
func (d *Discovery) Close() error {
	d.stop()
	return nil
}

// alarm is a clock timer that can be disarmed: C is nil while it is not
// set, so a select ignores it.
type alarm struct {
	clk   clock.Clock
	t     clock.Timer
	armed bool
}

func (a *alarm) set(d time.Duration) {
	if a.t == nil {
		a.t = a.clk.NewTimer(d)
	} else {
		a.t.Reset(d)
	}
	a.armed = true
}

func (a *alarm) stop() {
	if a.t != nil {
		a.t.Stop()
	}
	a.armed = false
}

func (a *alarm) C() <-chan time.Time {
	if !a.armed {
		return nil
	}
	return a.t.C()
}

// fired records that C delivered.
func (a *alarm) fired() { a.armed = false }

// loop is the state of run's timers.
type loop struct {
	retry    alarm // target calls to retry
	attempt  int   // retries of target calls in a row
	periodic alarm // WithResyncInterval
}

// run is the discovery's goroutine: watch, and relist when the watch ends.
func (d *Discovery) run(retry bool) {
	l := &loop{retry: alarm{clk: d.o.clock}, periodic: alarm{clk: d.o.clock}}
	defer l.retry.stop()
	defer l.periodic.stop()
	if retry {
		d.scheduleRetry(l)
	}
	for {
		if d.o.resyncInterval > 0 && !l.periodic.armed {
			l.periodic.set(d.o.resyncInterval)
		}
		reason := d.follow(l)
		switch {
		case d.ctx.Err() != nil:
			d.halt(context.Cause(d.ctx))
			return
		case errors.Is(reason, nb.ErrClosed):
			d.halt(reason)
			return
		}
		if !d.resync(l, reason) {
			return
		}
	}
}

// halt records why run ends.
func (d *Discovery) halt(cause error) {
	switch {
	case errors.Is(cause, errClosedByOwner):
	case errors.Is(cause, nb.ErrClosed):
		d.log.Error("publisher discovery stopped: the NB DB driver was closed", "err", cause)
	default: // the end of Discover's ctx: a shutdown
		d.log.Info("publisher discovery stopped", "cause", cause)
	}
	d.ended(fmt.Errorf("discovery: publisher discovery stopped: %w", cause))
}

// follow watches the table from d.rev+1 and applies its events until the
// watch ends, returning why.
func (d *Discovery) follow(l *loop) (reason error) {
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	began := d.o.clock.Now()
	ch := d.db.Watch(ctx, model.TablePublisher, d.rev+1)
	defer func() {
		switch {
		case errors.Is(reason, ErrPeriodicResync), d.o.clock.Now().Sub(began) >= d.o.retryMax:
			d.breaks = 0 // not a failure, or it was healthy for a while
		default:
			d.breaks++
		}
	}()
	for {
		select {
		case <-d.ctx.Done():
			return d.ctx.Err()
		case resp, ok := <-ch:
			if !ok {
				return errWatchEnded
			}
			if resp.Err != nil {
				return resp.Err
			}
			d.breaks = 0 // it delivered: its end is a first failure
			d.applyEvents(l, resp)
		case <-l.retry.C():
			l.retry.fired()
			d.retryTarget(l)
		case <-l.periodic.C():
			l.periodic.fired()
			return ErrPeriodicResync
		}
	}
}

// applyEvents applies one watch response.
func (d *Discovery) applyEvents(l *loop, resp nb.WatchResponse) {
	var affected []string
	for _, ev := range resp.Events {
		var e entry
		ok := false
		if ev.Type == nb.EventPut {
			e, ok = d.accept(ev.KV)
		}
		affected = append(affected, d.set(ev.KV.Key, e, ok)...)
	}
	d.rev = max(d.rev, resp.Revision)
	if l.retry.armed {
		// Earlier failures leave the target out of step anywhere: look at all.
		affected = d.allIDs()
	}
	if res := d.reconcile(affected); res.failed && !l.retry.armed {
		d.scheduleRetry(l)
	}
}

// scheduleRetry arms the retry of failed target calls.
func (d *Discovery) scheduleRetry(l *loop) {
	l.attempt++
	l.retry.set(d.o.retryDelay(l.attempt, 0))
	d.setRetryPending(true)
}

// retryTarget reconciles everything after failed target calls.
func (d *Discovery) retryTarget(l *loop) {
	if res := d.reconcile(d.allIDs()); res.failed {
		d.scheduleRetry(l)
		return
	}
	l.attempt = 0
	d.setRetryPending(false)
}

func (d *Discovery) setRetryPending(v bool) {
	d.mu.Lock()
	d.stats.RetryPending = v
	d.mu.Unlock()
}

// resync relists the table after the watch ended for reason, with backoff
// when watches keep failing. It returns false when run must stop.
func (d *Discovery) resync(l *loop, reason error) bool {
	if errors.Is(reason, ErrPeriodicResync) {
		d.log.Debug("publisher discovery: periodic relist", "revision", d.rev)
	} else {
		d.log.Warn("publisher discovery: watch ended; listing the table again", "revision", d.rev, "reason", reason)
	}
	wait := alarm{clk: d.o.clock}
	defer wait.stop()
	// The first relist after a watch that worked is immediate; watches
	// that keep failing at once back off.
	for attempt := max(d.breaks-1, 0); ; attempt++ {
		if attempt > 0 {
			wait.set(d.o.retryDelay(attempt, 0))
			select {
			case <-d.ctx.Done():
				d.halt(context.Cause(d.ctx))
				return false
			case <-wait.C():
				wait.fired()
			}
		}
		res, err := d.relist(d.ctx)
		switch {
		case err == nil:
		case d.ctx.Err() != nil:
			d.halt(context.Cause(d.ctx))
			return false
		case errors.Is(err, nb.ErrClosed):
			d.halt(err)
			return false
		default:
			d.log.Warn("publisher discovery: listing the table failed; retrying", "attempt", attempt+1, "err", err)
			continue
		}
		if res.failed {
			if !l.retry.armed {
				d.scheduleRetry(l)
			}
		} else if l.retry.armed {
			l.retry.stop()
			l.attempt = 0
			d.setRetryPending(false)
		}
		l.periodic.stop() // the next periodic relist counts from this one
		d.mu.Lock()
		d.stats.Resyncs++
		d.mu.Unlock()
		rs := Resync{Reason: reason, Revision: d.rev, Registered: res.registered, Unregistered: res.unregistered}
		d.log.Info("publisher discovery: table listed again", "revision", rs.Revision,
			"registered", rs.Registered, "unregistered", rs.Unregistered)
		if d.o.onResync != nil {
			d.o.onResync(rs)
		}
		return true
	}
}

// relist replaces the wanted rows by a fresh List and reconciles them all.
func (d *Discovery) relist(ctx context.Context) (reconcileResult, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	kvs, rev, err := d.db.List(ctx, model.TablePublisher, "")
	if err != nil {
		return reconcileResult{}, fmt.Errorf("list the publisher table: %w", err)
	}
	ids := d.allIDs()
	clear(d.rows)
	clear(d.byURI)
	for _, kv := range kvs {
		if e, ok := d.accept(kv); ok {
			ids = append(ids, d.set(kv.Key, e, true)...)
		}
	}
	d.rev = rev
	return d.reconcile(ids), nil
}
