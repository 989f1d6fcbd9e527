package discovery

import (
	"log/slog"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/nb"
)

// Defaults of the options.
const (
	// DefaultTTL is the lease TTL when WithTTL is not given: [df]
	// publisher_timeout's default.
	DefaultTTL = 30 * time.Second
	// DefaultTimestampRefresh is how often a Registration rewrites
	// last_activity_timestamp when WithTimestampRefresh is not given. It
	// keeps the row fresh for Python Dragonflow peers, whose staleness
	// threshold is their own publisher_timeout (300 s by default).
	DefaultTimestampRefresh = 60 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the jittered exponential
	// backoff between retries of failed NB DB calls and target calls.
	DefaultRetryMin = 200 * time.Millisecond
	DefaultRetryMax = 30 * time.Second
	// callTimeout bounds one NB DB call of a background goroutine (a
	// keepalive is also bounded by the refresh period, so a hung call never
	// outlives the lease it tries to save).
	callTimeout = 10 * time.Second
)

// Option configures Register or Discover. Each option says which of the two
// it applies to; the other ignores it.
type Option func(*options)

type options struct {
	log   *slog.Logger
	clock clock.Clock

	retryMin, retryMax time.Duration

	// Register.
	ttl              time.Duration
	refresh          time.Duration // 0: ttl/3
	timestampRefresh time.Duration // <= 0: never rewrite the row
	onLost           func(error)
	onReregistered   func(nb.LeaseID)

	// Discover.
	excludeID      string
	onResync       func(Resync)
	resyncInterval time.Duration // <= 0: no periodic relist
}

func newOptions(opts []Option) options {
	o := options{
		log:              slog.New(slog.DiscardHandler),
		clock:            clock.Real(),
		retryMin:         DefaultRetryMin,
		retryMax:         DefaultRetryMax,
		ttl:              DefaultTTL,
		timestampRefresh: DefaultTimestampRefresh,
	}
	for _, f := range opts {
		f(&o)
	}
	if o.refresh <= 0 {
		o.refresh = o.ttl / 3
	}
	return o
}

// WithLogger sets the logger (Register, Discover; default: discard). A nil
// logger is ignored.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithClock sets the clock that schedules keepalives, timestamp rewrites,
// periodic relists and retries, and that stamps last_activity_timestamp
// (Register, Discover; default clock.Real()). Tests pass the clock.Fake
// that also drives nb/memory's leases.
func WithClock(c clock.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithRetry sets the bounds of the jittered exponential backoff between
// retries of failed calls (Register, Discover; default DefaultRetryMin,
// DefaultRetryMax). A Registration never waits longer than its refresh
// period between keepalive attempts, whatever maxDelay says.
func WithRetry(minDelay, maxDelay time.Duration) Option {
	return func(o *options) {
		if minDelay > 0 {
			o.retryMin = minDelay
		}
		if maxDelay >= o.retryMin {
			o.retryMax = maxDelay
		}
	}
}

// WithTTL sets the lease TTL, i.e. how long the row of a process that died
// without Close stays visible (Register; default DefaultTTL; drivers round
// it up to whole seconds). Pass config's [df] publisher_timeout.
func WithTTL(ttl time.Duration) Option { return func(o *options) { o.ttl = ttl } }

// WithRefresh sets the keepalive period (Register; default TTL/3, so two
// keepalives can fail before the lease runs out). It must be shorter than
// the TTL.
func WithRefresh(d time.Duration) Option { return func(o *options) { o.refresh = d } }

// WithTimestampRefresh sets how often the row is rewritten with a new
// last_activity_timestamp (Register; default DefaultTimestampRefresh; d <= 0
// never rewrites it). Liveness does not depend on it: the lease alone says
// whether a publisher is alive. The timestamp exists for Python Dragonflow
// peers, which treat a row older than their publisher_timeout as stale and
// may delete it. Each rewrite is a watch event for every process watching
// the publisher table, so N publishers watched by N subscribers cost N²/d
// events per second across the NB DB: in a Go-only deployment pass 0; with
// Python peers pass at most a third of their publisher_timeout.
func WithTimestampRefresh(d time.Duration) Option {
	return func(o *options) { o.timestampRefresh = d }
}

// WithOnLost sets a hook called when the registration finds its lease gone
// (NB DB restarted or compacted its leases, the process was paused past the
// TTL, someone revoked it), with the error that revealed it, before it
// registers again (Register). It runs on the registration's goroutine: it
// must return quickly and must not call Close.
func WithOnLost(f func(err error)) Option { return func(o *options) { o.onLost = f } }

// WithOnReregistered sets a hook called after the row has been written
// again on a new lease following a loss (Register). Same rules as
// WithOnLost.
func WithOnReregistered(f func(lease nb.LeaseID)) Option {
	return func(o *options) { o.onReregistered = f }
}

// WithExcludeID makes Discover ignore the row of publisher id, normally the
// process's own publisher (Discover).
func WithExcludeID(id string) Option { return func(o *options) { o.excludeID = id } }

// WithOnResync sets a hook called after each relist of the publisher table
// that followed a broken watch, a compaction or the periodic relist
// (Discover; not for the initial list). It runs on the discovery's
// goroutine: it must return quickly and must not call Close.
func WithOnResync(f func(Resync)) Option { return func(o *options) { o.onResync = f } }

// WithResyncInterval makes Discover relist the publisher table every d even
// when the watch looks healthy, as a safety net against a watch that hangs
// without an error (Discover; default 0: never). Each relist reads the whole
// table.
func WithResyncInterval(d time.Duration) Option {
	return func(o *options) { o.resyncInterval = d }
}
