package etcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
	"github.com/dragonflow-go/dragonflow/nb/nbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConformance runs the nb conformance suite with one embedded server
// per subtest: a fresh store (revisions from 1, no compaction, no leases
// left over) costs ~50-100 ms, and sharing one would need every case to
// tolerate the others' history.
func TestConformance(t *testing.T) {
	nbtest.Run(t, func(t *testing.T) nbtest.Harness {
		return nbtest.Harness{Driver: newDriver(t, etcdtest.Start(t, embedded.Config{}).Endpoints()...)}
	})
}

// newDriver connects a driver to endpoints and closes it at cleanup.
func newDriver(t *testing.T, endpoints ...string) *etcd.Driver {
	t.Helper()
	d, err := etcd.New(t.Context(), etcd.Options{Endpoints: endpoints, Logger: etcdtest.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

// fresh returns a driver on a new embedded server.
func fresh(t *testing.T) *etcd.Driver {
	t.Helper()
	return newDriver(t, etcdtest.Start(t, embedded.Config{}).Endpoints()...)
}

// ctx returns a context for one test step.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// next receives one response from ch, failing the test after 5 s.
func next(t *testing.T, ch <-chan nb.WatchResponse) (nb.WatchResponse, bool) {
	t.Helper()
	select {
	case r, ok := <-ch:
		return r, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no watch response within 5 s")
		return nb.WatchResponse{}, false
	}
}

// mustRev returns a function that fails the test on err and returns rev,
// for mustRev(t)(d.Put(...)).
func mustRev(t *testing.T) func(rev int64, err error) int64 {
	return func(rev int64, err error) int64 {
		t.Helper()
		require.NoError(t, err)
		return rev
	}
}
