// Package etcdtest starts embedded etcd servers for tests, and NB DB
// drivers connected to them.
package etcdtest

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// Logger logs warnings and errors to the test's output.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// Start starts a server for the test and closes it at cleanup (after the
// cleanups registered later, such as the drivers using it). Zero fields of
// cfg default to: DataDir a new dir under t.TempDir(); ClientAddr "127.0.0.1:0" when no
// ClientSocket is set; Logger Logger(t).
func Start(t testing.TB, cfg embedded.Config) *embedded.Server {
	t.Helper()
	if cfg.DataDir == "" {
		// A dir of its own: t.TempDir() is 0755, and etcd warns about a
		// data dir not 0700.
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
	}
	if cfg.ClientSocket == "" && cfg.ClientAddr == "" {
		cfg.ClientAddr = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = Logger(t)
	}
	began := time.Now()
	s, err := embedded.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("start embedded etcd: %v", err)
	}
	t.Logf("embedded etcd started in %s at %v", time.Since(began).Round(time.Millisecond), s.Endpoints())
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close embedded etcd: %v", err)
		}
	})
	return s
}

// StartDB starts a server on a unix socket in t.TempDir() and returns it
// with an nb/etcd driver connected to it; both are closed at cleanup, the
// driver first.
func StartDB(t testing.TB) (*embedded.Server, nb.Driver) {
	t.Helper()
	dir := t.TempDir()
	srv := Start(t, embedded.Config{DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "etcd.sock")})
	db, err := etcd.New(t.Context(), etcd.Options{Endpoints: srv.Endpoints()})
	if err != nil {
		t.Fatalf("connect to embedded etcd: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close the NB DB driver: %v", err)
		}
	})
	return srv, db
}
