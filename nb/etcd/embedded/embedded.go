// Package embedded runs a single-member etcd server inside the process
// (go.etcd.io/etcd/server/v3/embed), for tests and the all-in-one mode:
// every process, including the host, then talks to it through the "etcd"
// nb driver at Server.Endpoints().
//
// The server listens for clients only where Config says (a unix socket
// and/or a TCP address) and serves no peer traffic at all. Its logs go to
// Config.Logger: etcd's info lines at debug level, and the error lines a
// normal Close makes (etcd-io/etcd#17424) at debug level too.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/grpc"

	"github.com/dragonflow-go/dragonflow/internal/zapslog"
)

// DefaultReadyTimeout is the ReadyTimeout used when Config leaves it zero.
const DefaultReadyTimeout = 30 * time.Second

// Timing of the single member. It has no peers to miss heartbeats from; a
// short election timeout shortens the start (etcd fast-forwards a lone
// member's first election, but still waits a randomized part of one
// timeout) and gives the minimum lease TTL (1.5 election timeouts, rounded
// up to a second) of 1 s instead of etcd's default 2 s.
const (
	tickMs     = 10
	electionMs = 10 * tickMs
)

// maxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxSocketPath = 107

// Config configures Start.
type Config struct {
	// DataDir holds the member's WAL and database; required. It is created
	// with mode 0700 if missing. Restarting on the same DataDir keeps the
	// data. Only one server may use a DataDir at a time.
	DataDir string
	// ClientSocket is a unix socket path to serve clients on (made absolute;
	// at most 107 bytes). A stale socket file there is replaced.
	ClientSocket string
	// ClientAddr is a TCP "ip:port" to serve clients on; port 0 picks a free
	// port (see Endpoints). At least one of ClientSocket and ClientAddr is
	// required.
	ClientAddr string
	// ReadyTimeout bounds the wait for the member to become ready;
	// DefaultReadyTimeout when zero.
	ReadyTimeout time.Duration
	// Logger receives etcd's logs; nil discards them.
	Logger *slog.Logger
}

// Server is a running embedded etcd member.
type Server struct {
	etcd      *embed.Etcd
	endpoints []string
	log       *slog.Logger
	unlock    func() // releases the data dir lock

	stopping   atomic.Bool        // set before etcd's Close: demotes its shutdown noise
	endStreams context.CancelFunc // ends the client streams, before etcd's Close
	stop       chan struct{}      // closed by Close
	closeOnce  sync.Once
	done       chan struct{} // closed once etcd has fully stopped
	err        error         // why the server stopped on its own; set before done closes
}

// Start starts the member and returns once it serves clients. If it is not
// ready within ReadyTimeout, or ctx ends first, or etcd reports an error,
// whatever was started is closed and Start returns an error. ctx only
// bounds the start; the server runs until Close or a fatal error.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	ecfg, err := cfg.etcdConfig()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: data dir: %w", err)
	}
	s := &Server{
		log:  cfg.Logger,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.unlock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("embedded etcd: %w", err)
	}
	ecfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zapslog.New(s.log, zapslog.WithLevelFunc(s.level)))
	streamsCtx, endStreams := context.WithCancel(context.Background())
	s.endStreams = endStreams
	ecfg.GRPCAdditionalServerOptions = append(ecfg.GRPCAdditionalServerOptions,
		grpc.ChainStreamInterceptor(endStreamsOnStop(streamsCtx)))

	begin := time.Now()
	e, err := embed.StartEtcd(ecfg)
	if err != nil { // StartEtcd has closed what it opened
		endStreams()
		s.unlock()
		return nil, fmt.Errorf("embedded etcd: start in %s: %w", cfg.DataDir, err)
	}
	s.etcd = e
	if err := s.awaitReady(ctx, cfg.ReadyTimeout); err != nil {
		s.stopEtcd()
		return nil, fmt.Errorf("embedded etcd: start in %s: %w", cfg.DataDir, err)
	}
	s.endpoints = endpoints(e)
	s.log.Info("embedded etcd ready", "endpoints", s.endpoints, "data_dir", cfg.DataDir,
		"took", time.Since(begin).Round(time.Millisecond))
	go s.monitor()
	return s, nil
}

// etcdConfig checks cfg, applies defaults and builds etcd's configuration.
func (cfg *Config) etcdConfig() (*embed.Config, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("embedded etcd: DataDir is required")
	}
	if cfg.ClientSocket == "" && cfg.ClientAddr == "" {
		return nil, errors.New("embedded etcd: ClientSocket or ClientAddr is required")
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	var clients []url.URL
	if cfg.ClientSocket != "" {
		p, err := filepath.Abs(cfg.ClientSocket)
		if err != nil {
			return nil, fmt.Errorf("embedded etcd: client socket: %w", err)
		}
		if len(p) > maxSocketPath {
			return nil, fmt.Errorf("embedded etcd: client socket path %q is %d bytes, longer than the %d a unix socket allows", p, len(p), maxSocketPath)
		}
		clients = append(clients, url.URL{Scheme: "unix", Path: p})
	}
	if cfg.ClientAddr != "" {
		clients = append(clients, url.URL{Scheme: "http", Host: cfg.ClientAddr})
	}

	e := embed.NewConfig()
	e.Name = "dragonflow-nb"
	e.Dir = cfg.DataDir
	e.ListenClientUrls = clients
	e.AdvertiseClientUrls = clients
	// A single member needs no peer listener: nothing but the client
	// endpoints is exposed. The advertised peer URL only names the member.
	e.ListenPeerUrls = nil
	e.AdvertisePeerUrls = []url.URL{{Scheme: "http", Host: "127.0.0.1:0"}}
	e.InitialCluster = e.InitialClusterFromName(e.Name)
	e.TickMs = tickMs
	e.ElectionMs = electionMs
	// The JSON gateway would dial the configured address, which is wrong
	// for port 0; our clients speak gRPC.
	e.EnableGRPCGateway = false
	return e, nil
}

// awaitReady waits for etcd's readiness, an etcd error, ctx or the timeout
// (etcd-io/etcd#9533: some failed starts are never ready).
func (s *Server) awaitReady(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case <-s.etcd.Server.ReadyNotify():
			return nil
		case err, ok := <-s.etcd.Err():
			if !ok {
				return errors.New("stopped before it was ready")
			}
			if err != nil {
				return err
			}
		case <-s.etcd.Server.StopNotify():
			return errors.New("stopped before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", context.Cause(ctx))
		case <-timer.C:
			return fmt.Errorf("not ready within %s", timeout)
		}
	}
}

// monitor waits for Close or a fatal error, then stops etcd and closes done.
func (s *Server) monitor() {
	defer close(s.done)
	for s.err == nil {
		select {
		case <-s.stop:
			s.stopEtcd()
			return
		case err, ok := <-s.etcd.Err():
			if !ok {
				err = errors.New("error channel closed")
			}
			if err != nil {
				s.err = fmt.Errorf("embedded etcd: %w", err)
			}
		case <-s.etcd.Server.StopNotify():
			s.err = errors.New("embedded etcd: server stopped on its own")
		}
	}
	s.log.Error("embedded etcd failed; stopping it", "err", s.err)
	s.stopEtcd()
}

// stopEtcd closes etcd and unlocks the data dir; called exactly once
// (etcd's Close panics when called twice).
func (s *Server) stopEtcd() {
	s.stopping.Store(true)
	s.endStreams()
	s.etcd.Close()
	s.unlock()
}

// endpoints lists the bound client listeners as etcd client endpoints: the
// unix socket first, then TCP addresses (with the real port).
func endpoints(e *embed.Etcd) []string {
	var unix, tcp []string
	for _, l := range e.Clients {
		a := l.Addr()
		if a.Network() == "unix" {
			unix = append(unix, "unix://"+a.String())
		} else {
			tcp = append(tcp, a.String())
		}
	}
	return append(unix, tcp...)
}

// Endpoints returns the addresses the server actually listens on, for
// etcd clients: "unix:///abs/path" for the socket (first), then "ip:port"
// with port 0 resolved.
func (s *Server) Endpoints() []string { return append([]string(nil), s.endpoints...) }

// Done is closed when the server has stopped, after Close or a fatal error.
func (s *Server) Done() <-chan struct{} { return s.done }

// Err returns why the server stopped on its own; nil while it runs and
// after an orderly Close.
func (s *Server) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close stops the server and waits until it has. Client streams (watches,
// lease keepalives) are ended first, so open clients do not delay it; a
// unary request still in flight may (up to etcd's request timeout, 5.2 s
// here). It is idempotent, safe for concurrent use, and returns Err().
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	return s.err
}
