package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// Shared servers live for the whole test binary: started by the first test
// that asks (sync.Once), stopped by StopShared from TestMain, e.g.
//
//	func TestMain(m *testing.M) {
//		goleak.VerifyTestMain(m, goleak.Cleanup(redistest.ExitAfterStopShared))
//	}
//
// They start no goroutine, so goleak's check (which runs before the
// cleanup) does not see them. Only tests whose data cannot collide may
// share a server (pubsubtest uses topic names unique to each case).
var shared struct {
	mu      sync.Mutex
	dir     string
	server  *Server
	cluster *Cluster
	errs    map[string]error // a failed start is not retried
}

func sharedDir() (string, error) {
	if shared.dir == "" {
		d, err := os.MkdirTemp("", "redistest-")
		if err != nil {
			return "", fmt.Errorf("redistest: %w", err)
		}
		shared.dir = d
	}
	return shared.dir, nil
}

// SharedServer returns the package's shared standalone server, starting it
// on first use.
func SharedServer(tb testing.TB) *Server {
	tb.Helper()
	bin := Binary(tb)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if err := shared.errs["server"]; err != nil {
		tb.Fatalf("redistest: shared server: %v", err)
	}
	if shared.server == nil {
		s, err := func() (*Server, error) {
			dir, err := sharedDir()
			if err != nil {
				return nil, err
			}
			d, err := os.MkdirTemp(dir, "server-")
			if err != nil {
				return nil, fmt.Errorf("redistest: %w", err)
			}
			return StartConfig(bin, Config{Dir: d})
		}()
		if err != nil {
			setErr("server", err)
			tb.Fatalf("redistest: shared server: %v", err)
		}
		shared.server = s
	}
	return shared.server
}

// SharedCluster returns the package's shared cluster of three masters,
// starting it on first use.
func SharedCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin := Binary(tb)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if err := shared.errs["cluster"]; err != nil {
		tb.Fatalf("redistest: shared cluster: %v", err)
	}
	if shared.cluster == nil {
		c, err := func() (*Cluster, error) {
			dir, err := sharedDir()
			if err != nil {
				return nil, err
			}
			d, err := os.MkdirTemp(dir, "cluster-")
			if err != nil {
				return nil, fmt.Errorf("redistest: %w", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*StartTimeout)
			defer cancel()
			return StartClusterIn(ctx, bin, d, 3)
		}()
		if err != nil {
			setErr("cluster", err)
			tb.Fatalf("redistest: shared cluster: %v", err)
		}
		shared.cluster = c
	}
	return shared.cluster
}

func setErr(what string, err error) {
	if shared.errs == nil {
		shared.errs = map[string]error{}
	}
	shared.errs[what] = err
}

// StopShared stops the shared servers and removes their directory.
func StopShared() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	var errs []error
	if shared.server != nil {
		errs = append(errs, shared.server.Stop())
		shared.server = nil
	}
	if shared.cluster != nil {
		errs = append(errs, shared.cluster.Stop())
		shared.cluster = nil
	}
	if shared.dir != "" {
		errs = append(errs, os.RemoveAll(shared.dir))
		shared.dir = ""
	}
	return errors.Join(errs...)
}

// ExitAfterStopShared stops the shared servers and exits with code (1 if
// stopping failed): the goleak.Cleanup of a TestMain.
func ExitAfterStopShared(code int) {
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
