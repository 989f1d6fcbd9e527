// Package etcd is the "etcd" nb.Driver: the NB database on etcd v3 through
// go.etcd.io/etcd/client/v3, with Dragonflow's key layout /<table>/<key>.
//
// Importing the package registers the driver with nb.Register. See README.md
// for the key layout, error mapping and the etcd pitfalls handled here.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/dragonflow-go/dragonflow/internal/zapslog"
	"github.com/dragonflow-go/dragonflow/nb"
)

// DefaultDialTimeout bounds the connection check New makes when
// Options.DialTimeout is zero.
const DefaultDialTimeout = 5 * time.Second

// reconnect is the gRPC reconnection policy. gRPC's default backoff grows
// to 120 s, so a client could stay away for minutes after etcd is back; the
// NB DB is local or near, and a retry every 2 s at most costs nothing. The
// connect timeout (gRPC: 20 s) bounds one attempt that hangs.
var reconnect = grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second},
	MinConnectTimeout: 2 * time.Second,
}

func init() {
	nb.Register("etcd", func(ctx context.Context, cfg nb.Config) (nb.Driver, error) {
		return New(ctx, Options{Endpoints: cfg.Hosts, Logger: cfg.Logger})
	})
}

// Options configures New.
type Options struct {
	// Endpoints are "host:port", "http://host:port", "unix:///abs/path" or
	// "unix://rel/path" (etcd's client syntax: the latter is relative to the
	// working directory). At least one is required.
	Endpoints []string
	// DialTimeout bounds connecting and the initial connection check;
	// DefaultDialTimeout when zero.
	DialTimeout time.Duration
	// Logger receives the etcd client's logs (bridged from zap; its
	// warning for each failed call, which the driver returns anyway, at
	// debug level); nil discards them.
	Logger *slog.Logger
}

// Driver is an nb.Driver on an etcd v3 client. All methods are safe for
// concurrent use. After Close every method fails with an error wrapping
// nb.ErrClosed.
type Driver struct {
	cli        *clientv3.Client
	ownsClient bool
	log        *slog.Logger

	// life is canceled by Close: calls in flight fail at once, watch
	// goroutines end.
	life context.Context
	stop context.CancelFunc

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup // one per running Watch goroutine

	closeOnce sync.Once
	closeErr  error
}

var _ nb.Driver = (*Driver)(nil)

// New connects to etcd and checks, within DialTimeout (and ctx), that a
// read succeeds, so a wrong endpoint fails here rather than on first use.
// ctx only bounds construction; the driver lives until Close.
func New(ctx context.Context, o Options) (*Driver, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   o.Endpoints,
		DialTimeout: o.DialTimeout,
		Logger:      zapslog.New(o.Logger, zapslog.WithLevelFunc(clientLevel)),
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(reconnect)},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: client for %v: %w", o.Endpoints, err)
	}
	pctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	if _, err := cli.Get(pctx, "/", clientv3.WithCountOnly()); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("etcd: connect to %v: %w", o.Endpoints, err)
	}
	d := NewFromClient(cli, o.Logger)
	d.ownsClient = true
	return d, nil
}

// NewFromClient wraps an existing client. The caller keeps ownership: Close
// stops the driver's calls and watches but does not close cli, which must
// outlive the driver. logger gets the driver's own debug lines (watches
// ending with an error); nil discards them.
func NewFromClient(cli *clientv3.Client, logger *slog.Logger) *Driver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	life, stop := context.WithCancel(context.Background())
	return &Driver{cli: cli, log: logger, life: life, stop: stop}
}

// Client returns the underlying etcd client (for the etcd pub/sub driver,
// which shares the connection). It must not be used after Close.
func (d *Driver) Client() *clientv3.Client { return d.cli }

// Close fails the calls in flight with errors wrapping nb.ErrClosed, ends
// every watch (each delivers a last response wrapping nb.ErrClosed, see
// Watch), waits for the watch goroutines, then closes the client if New
// created it. It is idempotent and returns the first result on every call.
//
// Calls are canceled before the client closes because the etcd client
// retries a call that fails with "client connection is closing" until its
// context ends: about 100 attempts over 2.5 s, each logged as a warning.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.stop()
		d.mu.Unlock()
		d.wg.Wait()
		if d.ownsClient {
			if err := d.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
				d.closeErr = fmt.Errorf("etcd: close client: %w", err)
			}
		}
	})
	return d.closeErr
}

// isClosed reports whether Close has started.
func (d *Driver) isClosed() bool { return d.life.Err() != nil }

// errClosed is returned by every method after Close.
func errClosed(op string) error { return fmt.Errorf("etcd: %s: %w", op, nb.ErrClosed) }

// begin starts a call: it fails if the driver is closed or a table name is
// invalid, and returns a context that Close cancels too, with its release
// function.
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
