// Package memory is an in-process nb.Driver for unit tests, registered as
// "memory". It keeps etcd's semantics (store-wide revisions, CAS on
// ModRevision, leases, watch history and compaction) on an injectable clock,
// so lease expiry can be driven by a clock.Fake. See README.md.
package memory

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	nb.Register("memory", func(_ context.Context, cfg nb.Config) (nb.Driver, error) {
		return New(WithLogger(cfg.Logger)), nil
	})
}

// Option configures New.
type Option func(*Driver)

// WithClock sets the clock lease TTLs run on (default clock.Real()).
func WithClock(c clock.Clock) Option { return func(d *Driver) { d.clock = c } }

// WithLogger sets the logger (default: discard). A nil logger is ignored.
func WithLogger(l *slog.Logger) Option {
	return func(d *Driver) {
		if l != nil {
			d.log = l
		}
	}
}

// Driver is an in-memory NB database. Each Driver is its own empty store.
type Driver struct {
	clock   clock.Clock
	log     *slog.Logger
	closing chan struct{} // closed by Close
	once    sync.Once
	workers sync.WaitGroup // watcher goroutines
	timers  sync.WaitGroup // lease timers armed or firing

	mu         sync.Mutex // guards everything below
	closed     bool
	rev        int64 // current store revision
	compactRev int64 // history before this revision is gone
	tables     map[string]map[string]*nb.KV
	history    map[string][]nb.Event // per table, revision order
	leases     map[nb.LeaseID]*lease
	lastLease  nb.LeaseID
	watchers   map[string]map[*watcher]struct{} // per table
}

var _ nb.Driver = (*Driver)(nil)

// New returns an empty store at revision 1 (as a fresh etcd).
func New(opts ...Option) *Driver {
	d := &Driver{
		clock:    clock.Real(),
		log:      slog.New(slog.DiscardHandler),
		closing:  make(chan struct{}),
		rev:      1,
		tables:   map[string]map[string]*nb.KV{},
		history:  map[string][]nb.Event{},
		leases:   map[nb.LeaseID]*lease{},
		watchers: map[string]map[*watcher]struct{}{},
	}
	for _, o := range opts {
		o(d)
	}
	return d
}

// begin locks d.mu for an operation, unless the driver is closed or ctx is
// done: then it returns the error, unlocked. On nil, the caller must unlock.
func (d *Driver) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nb.ErrClosed
	}
	return nil
}

// Revision returns the current store revision.
func (d *Driver) Revision(ctx context.Context) (int64, error) {
	if err := d.begin(ctx); err != nil {
		return 0, fmt.Errorf("memory: revision: %w", err)
	}
	defer d.mu.Unlock()
	return d.rev, nil
}

// Close stops lease timers and ends every watch with an ErrClosed response.
// It is idempotent and returns once the driver's goroutines and timer
// callbacks have finished.
func (d *Driver) Close() error {
	d.once.Do(func() {
		d.mu.Lock()
		d.closed = true
		for _, l := range d.leases {
			d.disarm(l)
		}
		d.mu.Unlock()
		close(d.closing)
		d.log.Debug("nb memory driver closed")
	})
	d.workers.Wait()
	d.timers.Wait()
	return nil
}
