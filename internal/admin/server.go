// Package admin is the loopback admin endpoint every daemon serves:
// /healthz, /metrics (Prometheus, the daemon's own registry — never the
// global one), /status (a JSON Status) and whatever the daemon adds
// (the controller's /cache, /port, /activeport). It also holds the small
// JSON client dfctl and df-aio use to talk to it.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is what GET /status returns: enough for a one-line status of the
// process (df-aio, dfctl status).
type Status struct {
	Role         string `json:"role"`
	Host         string `json:"host"`
	PID          int    `json:"pid"`
	PublisherID  string `json:"publisher_id,omitempty"`
	PublisherURI string `json:"publisher_uri,omitempty"`
	// Ready is true once the daemon has finished starting (registered,
	// synced).
	Ready     bool   `json:"ready"`
	EventsIn  uint64 `json:"events_in"`
	EventsOut uint64 `json:"events_out"`
	Gaps      uint64 `json:"gaps"`
	Resyncs   uint64 `json:"resyncs"`
	// Drops counts events this process dropped or could not deliver
	// (subscriber queue overflow, publisher-side drops for slow peers).
	Drops uint64 `json:"drops"`
	// LastGap describes the most recent gap ("" when none) and LastGapAt
	// when it was reported.
	LastGap   string    `json:"last_gap,omitempty"`
	LastGapAt time.Time `json:"last_gap_at,omitzero"`
	// LagMillis is the publish-to-apply latency of the most recent event
	// received, in milliseconds (0 when unknown).
	LagMillis float64 `json:"lag_ms,omitempty"`
	// Detail holds role-specific figures (cache sizes, topics, drops...).
	Detail map[string]any `json:"detail,omitempty"`
}

// Server is one daemon's admin endpoint. Listen binds it; Serve starts its
// one goroutine; Close stops it and waits. Handlers may be added until
// Serve.
type Server struct {
	ln       net.Listener
	mux      *http.ServeMux
	srv      *http.Server
	registry *prometheus.Registry
	log      *slog.Logger

	mu     sync.Mutex
	status func() Status
	health func() error

	serveOnce sync.Once
	closeOnce sync.Once
	donec     chan struct{}
	err       error
}

// Listen binds addr (host:port; port 0 picks a free port). The registry
// starts with the Go runtime and process collectors.
func Listen(addr string, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen %s: %w", addr, err)
	}
	s := &Server{
		ln: ln, mux: http.NewServeMux(), registry: prometheus.NewRegistry(),
		log: log.With("component", "admin"), donec: make(chan struct{}),
	}
	s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.mux.HandleFunc("GET /healthz", s.serveHealth)
	s.mux.HandleFunc("GET /status", s.serveStatus)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	s.srv = &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
	return s, nil
}

// Addr is the bound host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Registry is the daemon's Prometheus registry, served on /metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Handle adds a handler (Go 1.22 patterns, e.g. "POST /port"). Call before
// Serve.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// HandleFunc adds a handler function. Call before Serve.
func (s *Server) HandleFunc(pattern string, h http.HandlerFunc) { s.mux.HandleFunc(pattern, h) }

// SetStatus sets what /status reports; until then it is 503.
func (s *Server) SetStatus(f func() Status) {
	s.mu.Lock()
	s.status = f
	s.mu.Unlock()
}

// SetHealth sets the /healthz check: nil error means 200 "ok". Until set,
// /healthz answers 200 once Serve runs.
func (s *Server) SetHealth(f func() error) {
	s.mu.Lock()
	s.health = f
	s.mu.Unlock()
}

// Serve starts serving on its own goroutine. Errors other than a Close end
// it and are reported by Err after Done.
func (s *Server) Serve() {
	s.serveOnce.Do(func() {
		go func() {
			defer close(s.donec)
			if err := s.srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.err = fmt.Errorf("admin: serve %s: %w", s.Addr(), err)
				s.log.Error("admin endpoint stopped", "err", err)
			}
		}()
	})
}

// Done is closed when the server goroutine has ended (after Close, or on a
// serve error); it stays open when Serve was never called and Close was not.
func (s *Server) Done() <-chan struct{} { return s.donec }

// Err is the serve error, once Done is closed.
func (s *Server) Err() error {
	select {
	case <-s.donec:
		return s.err
	default:
		return nil
	}
}

// Close stops the server, waits up to 2 s for requests in flight, and waits
// for the goroutine. Idempotent.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		started := false
		s.serveOnce.Do(func() { close(s.donec) }) // never served: nothing to wait for
		select {
		case <-s.donec:
		default:
			started = true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if started {
			if e := s.srv.Shutdown(ctx); e != nil {
				err = fmt.Errorf("admin: shutdown: %w", e)
				_ = s.srv.Close()
			}
			<-s.donec
		} else {
			_ = s.ln.Close()
		}
	})
	return err
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	f := s.health
	s.mu.Unlock()
	if f != nil {
		if err := f(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) serveStatus(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	f := s.status
	s.mu.Unlock()
	if f == nil {
		WriteError(w, http.StatusServiceUnavailable, errors.New("starting"))
		return
	}
	WriteJSON(w, http.StatusOK, f())
}

// WriteJSON writes v as JSON with code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": err} with code.
func WriteError(w http.ResponseWriter, code int, err error) {
	WriteJSON(w, code, map[string]string{"error": err.Error()})
}
