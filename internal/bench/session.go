package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Readiness timing (baselines.md §2).
const (
	warmupEvery = 5 * time.Millisecond
	// DefaultSettle is the pause between readiness and the window.
	DefaultSettle = 300 * time.Millisecond
	// readyTimeout bounds the warm-up phase.
	readyTimeout = 15 * time.Second
	// drainIdle ends the wait for stragglers early once nothing arrived for
	// this long: events a transport dropped never come.
	drainIdle = 2 * time.Second
	// timeCheckEvery is how many events a max-rate loop sends between clock
	// reads.
	timeCheckEvery = 256
)

// SessionConfig shapes a Session.
type SessionConfig struct {
	// Subs is the number of healthy subscribers (at least 1).
	Subs int
	// Stuck adds subscribers that stop consuming after their first event.
	Stuck int
	// RecordLatency samples the latency of every data event; SampleHint
	// presizes each subscriber's sample buffer.
	RecordLatency bool
	SampleHint    int
	// Settle is the pause after readiness; 0 means DefaultSettle.
	Settle time.Duration
}

// Session is one publisher of a transport with its subscribers, all ready:
// StartSession returns after the warm-up and the settle time. A Session is
// used by one goroutine.
type Session struct {
	pub      Publisher
	subs     []Subscriber
	counters []*counter // healthy first, then stuck
	healthy  int
	sent     uint64
	timeouts uint64
	closed   bool
	closeErr error
}

// StartSession starts tr's publisher and subscribers, sends warm-up events
// every 5 ms until every subscriber has one, and settles (300 ms by
// default). The caller closes the Session.
func StartSession(ctx context.Context, tr Transport, cfg SessionConfig) (*Session, error) {
	if cfg.Subs < 1 {
		return nil, fmt.Errorf("bench: session needs at least one subscriber, got %d", cfg.Subs)
	}
	pub, err := tr.StartPublisher(ctx)
	if err != nil {
		return nil, err
	}
	s := &Session{pub: pub, healthy: cfg.Subs}
	for i := range cfg.Subs + cfg.Stuck {
		c := newCounter(cfg.RecordLatency && i < cfg.Subs, i >= cfg.Subs, cfg.SampleHint)
		sub, err := tr.StartSubscriber(ctx, pub.Addr(), c)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("bench: %s: subscriber %d: %w", tr.Name(), i, err), s.Close())
		}
		s.subs = append(s.subs, sub)
		s.counters = append(s.counters, c)
	}
	ready := func() (bool, error) { return allReady(s.counters), nil }
	if err := s.warmUp(ctx, ready, cfg.Settle); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: %s: %w", tr.Name(), err), s.Close())
	}
	return s, nil
}

func allReady(cs []*counter) bool {
	for _, c := range cs {
		if !c.ready() {
			return false
		}
	}
	return true
}

// warmUp publishes warm-up events every 5 ms until ready says so, then
// settles (0: DefaultSettle). Warm-up events are not counted as sent.
func (s *Session) warmUp(ctx context.Context, ready func() (bool, error), settle time.Duration) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ok, err := ready()
		if err != nil {
			return err
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("subscribers not ready after %v of warm-up", readyTimeout)
		}
		if err := s.pub.Publish(ctx, KindWarmup); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if err := sleepCtx(ctx, warmupEvery); err != nil {
			return err
		}
	}
	return sleepCtx(ctx, cmp.Or(settle, DefaultSettle))
}

// Publish sends one data event. A driver's publish timeout is counted (see
// PublishTimeouts), not returned: by the pubsub contract the event was
// consumed and counts as lost, and the run goes on.
func (s *Session) Publish(ctx context.Context) error {
	if err := s.pub.Publish(ctx, KindData); err != nil {
		if !errors.Is(err, pubsub.ErrPublishTimeout) || ctx.Err() != nil {
			return err
		}
		s.timeouts++
	}
	s.sent++
	return nil
}

// PublishTimeouts counts the data events whose Publish timed out.
func (s *Session) PublishTimeouts() uint64 { return s.timeouts }

// Blast publishes data events as fast as possible until end.
func (s *Session) Blast(ctx context.Context, end time.Time) error {
	for {
		for range timeCheckEvery {
			if err := s.Publish(ctx); err != nil {
				return err
			}
		}
		if !time.Now().Before(end) {
			return nil
		}
	}
}

// Pace publishes data events at rate ev/s until end, in bursts every
// millisecond (rate/1000 events each; slower rates send single events at
// their interval). A late tick is caught up, never skipped, so a slow
// Publish shows as latency rather than as a lower offered rate; but the
// window ends at end whatever is still due, so a transport slower than rate
// shows a lower publisher rate (Sent ÷ window) instead of running past its
// window (which d-stuck would take for a stall).
func (s *Session) Pace(ctx context.Context, rate float64, end time.Time) error {
	period, burst := paceShape(rate)
	start := time.Now()
	for tick := 0; ; tick++ {
		due := start.Add(time.Duration(tick) * period)
		if !due.Before(end) || !time.Now().Before(end) {
			return nil
		}
		if err := sleepCtx(ctx, time.Until(due)); err != nil {
			return err
		}
		for range burst {
			if err := s.Publish(ctx); err != nil {
				return err
			}
		}
	}
}

// paceShape splits rate into a tick period and a burst size.
func paceShape(rate float64) (time.Duration, int) {
	if rate >= 1000 {
		return time.Millisecond, max(1, int(rate/1000+0.5))
	}
	return time.Duration(float64(time.Second) / rate), 1
}

// Sent is the number of data events published.
func (s *Session) Sent() uint64 { return s.sent }

// Delivered is the number of data events the healthy subscribers received.
func (s *Session) Delivered() uint64 {
	var n uint64
	for _, c := range s.counters[:s.healthy] {
		n += c.data.Load()
	}
	return n
}

// Gaps returns the gap reports and the events they said were lost, over
// the healthy subscribers.
func (s *Session) Gaps() (gaps, lost uint64) {
	for _, c := range s.counters[:s.healthy] {
		gaps += c.gaps.Load()
		lost += c.gapLost.Load()
	}
	return gaps, lost
}

// Drain waits until the healthy subscribers have every data event sent,
// for at most maxWait, and less when nothing arrives for 2 s.
func (s *Session) Drain(ctx context.Context, maxWait time.Duration) error {
	return drain(ctx, s.sent*uint64(s.healthy), func() (uint64, error) { return s.Delivered(), nil }, maxWait)
}

// drain polls got until it reaches want, nothing changed for drainIdle,
// or maxWait passed. It fails only when got does or ctx is done.
func drain(ctx context.Context, want uint64, got func() (uint64, error), maxWait time.Duration) error {
	deadline := time.Now().Add(maxWait)
	last, err := got()
	lastChange := time.Now()
	for err == nil && last < want && time.Now().Before(deadline) && time.Since(lastChange) < drainIdle {
		if err = sleepCtx(ctx, time.Millisecond); err != nil {
			break
		}
		var n uint64
		if n, err = got(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	return err
}

// Samples returns every latency sample (ns) of the healthy subscribers. Call
// it after Close.
func (s *Session) Samples() []float64 {
	var all []float64
	for _, c := range s.counters[:s.healthy] {
		all = append(all, c.samples...)
	}
	return all
}

// Close releases stuck subscribers, closes every subscriber, then the
// publisher. Idempotent.
func (s *Session) Close() error {
	if s.closed {
		return s.closeErr
	}
	s.closed = true
	for _, c := range s.counters {
		c.unblock()
	}
	var errs []error
	for _, sub := range s.subs {
		errs = append(errs, sub.Close())
	}
	errs = append(errs, s.pub.Close())
	s.closeErr = errors.Join(errs...)
	return s.closeErr
}

// sleepCtx sleeps for d (nothing when d <= 0) unless ctx is done first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
