package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Defaults of Options.
const (
	DefaultDialTimeout  = 5 * time.Second
	DefaultHistory      = 10000
	DefaultReapInterval = 500 * time.Millisecond
	DefaultPrefix       = "df:"
	// watchBlock bounds one XREAD BLOCK: how long a watch may take to
	// notice its ctx canceled, and how often an idle watch checks that the
	// store was not reset under it.
	watchBlock = time.Second
	// watchBatch is the XREAD COUNT of a watch.
	watchBatch = 256
	// reapBatch is how many expired leases one reap script drops.
	reapBatch = 64
)

func init() {
	nb.Register("redis", func(ctx context.Context, cfg nb.Config) (nb.Driver, error) {
		return New(ctx, Options{Hosts: cfg.Hosts, Logger: cfg.Logger})
	})
}

// Options configures New.
type Options struct {
	// Hosts are [df] remote_db_hosts: "host:port", "unix:///path", or a
	// redis:// / rediss:// / unix:// URL (go-redis's ParseURL syntax, e.g.
	// with a password or a db number). The first host is used; a
	// standalone server has no others (see the package doc).
	Hosts []string
	// DialTimeout bounds connecting and New's connection check;
	// DefaultDialTimeout when zero.
	DialTimeout time.Duration
	// History caps the change log at about this many entries (one per
	// changed row); older history is compacted away, and a watch that
	// falls further behind ends with nb.ErrCompacted. DefaultHistory when
	// zero; negative: no cap (Compact only).
	History int
	// ReapInterval is how often the driver deletes the rows of expired
	// leases (any live driver on the store does it for every lease).
	// DefaultReapInterval when zero.
	ReapInterval time.Duration
	// Prefix starts the names of the driver's own keys (metadata, change
	// log, leases); DefaultPrefix when empty. Rows keep Dragonflow's
	// layout whatever the prefix.
	Prefix string
	// Logger gets the driver's warnings (reaper failures); nil discards.
	Logger *slog.Logger
}

// Driver is an nb.Driver on a standalone Redis server. All methods are safe
// for concurrent use. After Close every method fails with an error
// wrapping nb.ErrClosed.
type Driver struct {
	cli     *goredis.Client
	log     *slog.Logger
	prefix  string
	history int
	addr    string

	// life is canceled by Close: calls in flight fail with ErrClosed, the
	// reaper and the watch goroutines end.
	life context.Context
	stop context.CancelFunc

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup // the reaper and one per running Watch

	closeOnce sync.Once
	closeErr  error
}

var _ nb.Driver = (*Driver)(nil)

// clientOptions returns the go-redis options for host (see Options.Hosts):
// RESP2, no CLIENT SETINFO and no maintenance notifications (Redis 7.0
// knows neither), context deadlines applied to socket I/O.
func clientOptions(host string, dialTimeout time.Duration) (*goredis.Options, error) {
	var o *goredis.Options
	if strings.Contains(host, "://") {
		var err error
		if o, err = goredis.ParseURL(host); err != nil {
			return nil, fmt.Errorf("redis: host %q: %w", host, err)
		}
	} else {
		if _, _, err := net.SplitHostPort(host); err != nil {
			return nil, fmt.Errorf("redis: host %q: want host:port or a redis:// or unix:// URL: %w", host, err)
		}
		o = &goredis.Options{Addr: host}
	}
	o.Protocol = 2
	o.DisableIdentity = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	o.ContextTimeoutEnabled = true
	if dialTimeout > 0 {
		o.DialTimeout = dialTimeout
	}
	return o, nil
}

// New connects to the first of o.Hosts and checks, within DialTimeout (and
// ctx), that it answers and is not a Redis Cluster node. ctx only bounds
// construction; the driver lives until Close.
func New(ctx context.Context, o Options) (*Driver, error) {
	if len(o.Hosts) == 0 {
		return nil, errors.New("redis: no hosts ([df] remote_db_hosts)")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.History == 0 {
		o.History = DefaultHistory
	}
	if o.ReapInterval <= 0 {
		o.ReapInterval = DefaultReapInterval
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	copts, err := clientOptions(o.Hosts[0], o.DialTimeout)
	if err != nil {
		return nil, err
	}
	cli := goredis.NewClient(copts)
	cctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	info, err := cli.Info(cctx, "cluster").Result()
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("redis: connect to %s: %w", o.Hosts[0], err)
	}
	if strings.Contains(info, "cluster_enabled:1") {
		_ = cli.Close()
		return nil, fmt.Errorf("redis: %s is a Redis Cluster node: the NB DB driver needs a standalone server "+
			"(its scripts change rows of many slots atomically)", o.Hosts[0])
	}
	life, stop := context.WithCancel(context.Background())
	d := &Driver{
		cli:     cli,
		log:     o.Logger,
		prefix:  o.Prefix,
		history: max(o.History, 0),
		addr:    o.Hosts[0],
		life:    life,
		stop:    stop,
	}
	d.wg.Add(1)
	go d.reaper(o.ReapInterval)
	return d, nil
}

// Client returns the underlying go-redis client. It must not be used
// after Close.
func (d *Driver) Client() *goredis.Client { return d.cli }

// Close fails the calls in flight with errors wrapping nb.ErrClosed, ends
// every watch (each delivers a last response wrapping nb.ErrClosed), closes
// the client (which interrupts blocked reads) and waits for the driver's
// goroutines. Idempotent; returns the first result on every call.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.stop()
		d.mu.Unlock()
		if err := d.cli.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
			d.closeErr = fmt.Errorf("redis: close client: %w", err)
		}
		d.wg.Wait()
	})
	return d.closeErr
}

// isClosed reports whether Close has started.
func (d *Driver) isClosed() bool { return d.life.Err() != nil }

func errClosed(op string) error { return fmt.Errorf("redis: %s: %w", op, nb.ErrClosed) }

// begin starts a call: it fails if the driver is closed or a table name is
// invalid, and returns a context that Close cancels too.
func (d *Driver) begin(ctx context.Context, op string, tables ...string) (context.Context, context.CancelFunc, error) {
	if d.isClosed() {
		return nil, nil, errClosed(op)
	}
	for _, t := range tables {
		if err := checkTable(t); err != nil {
			return nil, nil, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(d.life, func() { cancel(nb.ErrClosed) })
	return ctx, func() { unhook(); cancel(nil) }, nil
}

// wrap adds the operation and its subject to err; once Close has started,
// an error also wraps nb.ErrClosed (calls in flight fail with the client's
// "closed" or a canceled context).
func (d *Driver) wrap(op, subject string, err error) error {
	if err == nil {
		return nil
	}
	if d.isClosed() && !errors.Is(err, nb.ErrClosed) {
		return fmt.Errorf("redis: %s %s: %w: %w", op, subject, nb.ErrClosed, err)
	}
	return fmt.Errorf("redis: %s %s: %w", op, subject, err)
}

// reaper deletes the rows of expired leases every interval until Close.
// Errors are logged (at debug once closing) and retried next tick.
func (d *Driver) reaper(interval time.Duration) {
	defer d.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-d.life.Done():
			return
		case <-t.C:
		}
		for {
			n, err := d.reapOnce()
			if err != nil {
				if !d.isClosed() {
					d.log.Warn("redis nb: deleting the rows of expired leases failed", "host", d.addr, "err", err)
				}
				break
			}
			if n < reapBatch {
				break
			}
		}
	}
}

func (d *Driver) reapOnce() (int64, error) {
	ctx, cancel := context.WithTimeout(d.life, 5*time.Second)
	defer cancel()
	return scriptReap.Run(ctx, d.cli, nil, d.prefix, d.history, reapBatch).Int64()
}
