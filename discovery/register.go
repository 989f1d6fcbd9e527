package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// Registration keeps one publisher row, publisher/<id>, in the NB DB on a
// lease for as long as it runs (see Register). Its methods are safe for
// concurrent use.
type Registration struct {
	db   nb.Driver
	info PublisherInfo
	o    options
	log  *slog.Logger
	owner

	lease atomic.Int64 // current nb.LeaseID; 0 while lost and after the end

	mu       sync.Mutex
	stats    RegistrationStats
	closeErr error // the final Revoke's error; set before donec closes
}

// RegistrationStats counts what a Registration has done since Register.
type RegistrationStats struct {
	KeepAlives        int64 // successful lease refreshes
	KeepAliveFailures int64 // failed refreshes that did not show the lease gone (NB DB unreachable, timeout)
	Rewrites          int64 // rows rewritten with a new last_activity_timestamp
	Restored          int64 // rewrites that found the row deleted (by hand, or by a Python peer's stale-row cleanup) and wrote it again
	Losses            int64 // times the lease was found gone
	Reregistrations   int64 // rows written again on a new lease after a loss
	Lost              bool  // currently without a live lease, re-registering
}

// Register writes info as publisher/<info.ID> on a new NB DB lease and
// keeps it there until Close or the end of ctx.
//
// Defaults: a zero PID becomes os.Getpid(), a zero Epoch NewEpoch(), an
// empty Host os.Hostname(). Register fails, wrapping ErrInvalid, on an empty
// ID, a role other than model.RoleNeutronServer/model.RoleLocalController
// or a uri subscribers cannot use (a wildcard host wraps ErrWildcardURI too:
// see CheckURI), and with the driver's error when the first Grant or Put
// fails: a process that cannot register must not start as if it had.
//
// Once registered, one goroutine owned by the Registration:
//   - refreshes the lease every refresh period (WithRefresh; TTL/3), so the
//     row of a process that dies without Close disappears within the TTL
//     (WithTTL) and nobody ever compares wall clocks;
//   - rewrites last_activity_timestamp every WithTimestampRefresh period,
//     for Python peers (see that option for the cost), restoring the row if
//     someone deleted it while the lease lived;
//   - retries failed calls (NB DB unreachable, timeouts) with jittered
//     backoff, logging them; they never stop it;
//   - when the lease is gone (nb.ErrLeaseExpired: NB DB restart, a pause
//     longer than the TTL, a revoke), calls the WithOnLost hook and
//     registers again on a new lease, with backoff until it succeeds, then
//     calls WithOnReregistered.
//
// ctx bounds the whole registration, not just this call. When ctx ends or
// Close is called, the goroutine stops and revokes the lease, so the row
// disappears at once; then Done closes. The goroutine stops on its own only
// when the driver is closed (Err wraps nb.ErrClosed; the lease is then left
// to expire).
func Register(ctx context.Context, db nb.Driver, info PublisherInfo, opts ...Option) (*Registration, error) {
	o := newOptions(opts)
	info = withDefaults(info)
	if err := info.validate(); err != nil {
		return nil, err
	}
	if o.ttl <= 0 || o.refresh >= o.ttl {
		return nil, fmt.Errorf("discovery: register %s: refresh period %s must be shorter than the lease TTL %s",
			info.ID, o.refresh, o.ttl)
	}
	r := &Registration{db: db, info: info, o: o}
	r.log = o.log.With("publisher", info.ID, "role", info.Role)
	lease, err := r.write(ctx)
	if err != nil {
		return nil, fmt.Errorf("discovery: register %s: %w", info.ID, err)
	}
	r.lease.Store(int64(lease))
	r.log.Info("publisher registered", "uri", info.URI, "lease", int64(lease), "ttl", o.ttl)
	r.start(ctx, r.run)
	return r, nil
}

func withDefaults(info PublisherInfo) PublisherInfo {
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	if info.Epoch == 0 {
		info.Epoch = NewEpoch()
	}
	if info.Host == "" {
		info.Host, _ = os.Hostname()
	}
	return info
}

// Info is the registered row (with defaults applied).
func (r *Registration) Info() PublisherInfo { return r.info }

// Lease is the lease the row is on now: it changes after a re-registration,
// and is 0 while the registration is lost and after it has stopped.
func (r *Registration) Lease() nb.LeaseID { return nb.LeaseID(r.lease.Load()) }

// Stats returns the counters.
func (r *Registration) Stats() RegistrationStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// Done is closed when the registration's goroutine has stopped, after its
// final revoke: after Close, at the end of Register's ctx, or when the
// driver was closed. A lost lease does not close it; the registration
// re-registers (see WithOnLost).
func (r *Registration) Done() <-chan struct{} { return r.donec }

// Err says why the registration stopped: nil while it runs and after
// Close; after the end of Register's ctx an error wrapping ctx's cause;
// after the driver was closed an error wrapping nb.ErrClosed.
func (r *Registration) Err() error { return r.stopped() }

// Close stops the goroutine, revokes the lease (the row disappears at once
// and watchers see a delete) and waits. It is idempotent and returns the
// revoke's error, if any, on every call (a lease already gone is not an
// error).
func (r *Registration) Close() error {
	r.stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closeErr
}

// regState is the schedule of run; only run touches it.
type regState struct {
	lost    bool      // no live lease: register again at retryAt
	retryAt time.Time // when lost
	attempt int       // consecutive failures of the operation being retried
	nextKA  time.Time // next keepalive
	nextTS  time.Time // next timestamp rewrite; zero: never
}

func (s *regState) next() time.Time {
	if s.lost {
		return s.retryAt
	}
	if !s.nextTS.IsZero() && s.nextTS.Before(s.nextKA) {
		return s.nextTS
	}
	return s.nextKA
}

// run is the registration's goroutine.
func (r *Registration) run() {
	var st regState
	r.scheduleRegistered(&st, r.o.clock.Now())
	timer := r.o.clock.NewTimer(st.next().Sub(r.o.clock.Now()))
	defer timer.Stop()
	for {
		select {
		case <-r.ctx.Done():
			r.finish(context.Cause(r.ctx))
			return
		case <-timer.C():
		}
		if err := r.step(&st); err != nil {
			r.ended(fmt.Errorf("discovery: registration of %s stopped: %w", r.info.ID, err))
			r.lease.Store(0)
			r.log.Error("publisher registration stopped; its row expires with its lease", "err", err)
			return
		}
		if r.ctx.Err() != nil {
			continue // stopping: leave the timer off, so the select takes ctx.Done
		}
		timer.Reset(max(st.next().Sub(r.o.clock.Now()), 0))
	}
}

// scheduleRegistered plans the refreshes of a lease written at now.
func (r *Registration) scheduleRegistered(st *regState, now time.Time) {
	st.lost, st.attempt = false, 0
	st.nextKA = now.Add(r.o.refresh)
	st.nextTS = time.Time{}
	if r.o.timestampRefresh > 0 {
		st.nextTS = now.Add(r.o.timestampRefresh)
	}
}

// step does what is due. It returns an error only when the registration
// cannot go on (driver closed).
func (r *Registration) step(st *regState) error {
	now := r.o.clock.Now()
	if !st.lost && !st.nextTS.IsZero() && !now.Before(st.nextTS) {
		if err := r.handle(st, now, r.rewrite(), "rewrite row", &st.nextTS, r.o.timestampRefresh); err != nil {
			return err
		}
	}
	if !st.lost && !now.Before(st.nextKA) {
		if err := r.handle(st, now, r.keepAlive(), "keepalive", &st.nextKA, r.o.refresh); err != nil {
			return err
		}
	}
	if st.lost && !now.Before(st.retryAt) {
		return r.reregister(st, now)
	}
	return nil
}

// handle schedules the next run of an operation after its result err:
// period later on success, with backoff on a transient failure; a gone
// lease marks st lost (register again now). It returns err when it is
// fatal.
func (r *Registration) handle(st *regState, now time.Time, err error, op string, next *time.Time, period time.Duration) error {
	switch {
	case err == nil:
		st.attempt = 0
		*next = now.Add(period)
	case r.ctx.Err() != nil:
		// Stopping: run sees ctx.Done next.
	case errors.Is(err, nb.ErrClosed):
		return err
	case errors.Is(err, nb.ErrLeaseExpired):
		r.lose(st, now, err)
	default:
		st.attempt++
		delay := r.o.retryDelay(st.attempt, r.o.refresh)
		*next = now.Add(delay)
		r.mu.Lock()
		if op == "keepalive" {
			r.stats.KeepAliveFailures++
		}
		r.mu.Unlock()
		r.log.Warn("publisher registration: NB DB call failed; retrying", "op", op,
			"attempt", st.attempt, "retry_in", delay, "err", err)
	}
	return nil
}

// lose marks the lease gone and calls the hook.
func (r *Registration) lose(st *regState, now time.Time, err error) {
	lease := r.lease.Swap(0)
	st.lost, st.attempt, st.retryAt = true, 0, now
	r.mu.Lock()
	r.stats.Losses++
	r.stats.Lost = true
	r.mu.Unlock()
	r.log.Warn("publisher registration lost its lease; registering again", "lease", lease, "err", err)
	if r.o.onLost != nil {
		r.o.onLost(err)
	}
}

// reregister writes the row on a new lease, or schedules a retry.
func (r *Registration) reregister(st *regState, now time.Time) error {
	lease, err := r.write(r.ctx)
	switch {
	case err == nil:
	case r.ctx.Err() != nil:
		return nil
	case errors.Is(err, nb.ErrClosed):
		return err
	default:
		st.attempt++
		delay := r.o.retryDelay(st.attempt, 0)
		st.retryAt = now.Add(delay)
		r.log.Warn("publisher registration: registering again failed; retrying", "attempt", st.attempt,
			"retry_in", delay, "err", err)
		return nil
	}
	r.lease.Store(int64(lease))
	r.scheduleRegistered(st, now)
	r.mu.Lock()
	r.stats.Reregistrations++
	r.stats.Lost = false
	r.mu.Unlock()
	r.log.Info("publisher registered again", "uri", r.info.URI, "lease", int64(lease))
	if r.o.onReregistered != nil {
		r.o.onReregistered(lease)
	}
	return nil
}

// write grants a lease and puts the row on it. A lease whose row could not
// be written is revoked (best effort; it would expire anyway).
func (r *Registration) write(ctx context.Context) (nb.LeaseID, error) {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	lease, err := r.db.Grant(cctx, r.o.ttl)
	if err != nil {
		return 0, fmt.Errorf("grant lease: %w", err)
	}
	if err := r.put(cctx, lease); err != nil {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
		defer rcancel()
		_ = r.db.Revoke(rctx, lease)
		return 0, fmt.Errorf("write row: %w", err)
	}
	return lease, nil
}

// put writes the row, stamped now, on lease.
func (r *Registration) put(ctx context.Context, lease nb.LeaseID) error {
	row, err := encodeRow(r.info, r.o.clock.Now())
	if err != nil {
		return err
	}
	_, err = r.db.Put(ctx, model.TablePublisher, r.info.ID, row, nb.WithLease(lease))
	return err
}

// keepAlive refreshes the lease once, bounded by the refresh period.
func (r *Registration) keepAlive() error {
	ctx, cancel := context.WithTimeout(r.ctx, min(callTimeout, r.o.refresh))
	defer cancel()
	if err := r.db.KeepAlive(ctx, r.Lease()); err != nil {
		return err
	}
	r.mu.Lock()
	r.stats.KeepAlives++
	r.mu.Unlock()
	return nil
}

// rewrite updates last_activity_timestamp. A row deleted while its lease
// lives is written again.
func (r *Registration) rewrite() error {
	ctx, cancel := context.WithTimeout(r.ctx, callTimeout)
	defer cancel()
	row, err := encodeRow(r.info, r.o.clock.Now())
	if err != nil {
		return err
	}
	lease := r.Lease()
	_, err = r.db.Update(ctx, model.TablePublisher, r.info.ID, row, 0, nb.WithLease(lease))
	restored := false
	if errors.Is(err, nb.ErrNotFound) {
		r.log.Warn("publisher row was deleted while its lease lived; writing it again")
		_, err = r.db.Put(ctx, model.TablePublisher, r.info.ID, row, nb.WithLease(lease))
		restored = true
	}
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.stats.Rewrites++
	if restored {
		r.stats.Restored++
	}
	r.mu.Unlock()
	return nil
}

// finish revokes the lease once run is stopping because of cause.
func (r *Registration) finish(cause error) {
	var revokeErr error
	if lease := nb.LeaseID(r.lease.Swap(0)); lease != 0 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), callTimeout)
		defer cancel()
		if err := r.db.Revoke(ctx, lease); err != nil && !errors.Is(err, nb.ErrLeaseExpired) {
			revokeErr = fmt.Errorf("discovery: revoke the lease of publisher %s: %w", r.info.ID, err)
			r.log.Warn("publisher registration: revoke failed; the row expires with its lease", "err", err)
		} else {
			r.log.Info("publisher unregistered", "lease", int64(lease))
		}
	}
	r.mu.Lock()
	r.closeErr = revokeErr
	r.mu.Unlock()
	r.ended(fmt.Errorf("discovery: registration of %s ended: %w", r.info.ID, cause))
}
