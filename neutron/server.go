package neutron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// ShutdownTimeout bounds how long Server.Close waits for requests in flight.
const ShutdownTimeout = 5 * time.Second

// Server serves an http.Handler (normally an *API) on a listener it owns.
// It runs one goroutine, started by Serve; Close stops it and waits.
type Server struct {
	ln        net.Listener
	srv       *http.Server
	log       *slog.Logger
	donec     chan struct{}
	err       error
	closeOnce sync.Once
	closeErr  error
}

// Serve starts serving h on ln, which the Server then owns. A serve error
// other than a Close ends the goroutine: Done is closed and Err says why.
func Serve(ln net.Listener, h http.Handler, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		ln: ln, log: log, donec: make(chan struct{}),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
	}
	go func() {
		defer close(s.donec)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = fmt.Errorf("neutron: serve REST on %s: %w", ln.Addr(), err)
			log.Error("REST server stopped", "err", err)
		}
	}()
	return s
}

// Addr is the listening address (host:port).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Done is closed when the serving goroutine has ended.
func (s *Server) Done() <-chan struct{} { return s.donec }

// Err is the serve error once Done is closed; nil after a Close.
func (s *Server) Err() error {
	select {
	case <-s.donec:
		return s.err
	default:
		return nil
	}
}

// Close stops accepting, waits up to ShutdownTimeout for requests in
// flight, then closes what remains and waits for the goroutine.
// Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.closeErr = fmt.Errorf("neutron: shut down REST server: %w", err)
			_ = s.srv.Close()
		}
		<-s.donec
	})
	return s.closeErr
}
