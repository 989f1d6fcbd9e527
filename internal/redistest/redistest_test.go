package redistest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/redistest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(redistest.ExitAfterStopShared))
}

func TestStartRestart(t *testing.T) {
	began := time.Now()
	s := redistest.Start(t, true)
	t.Logf("started in %v at %s and %s", time.Since(began), s.Addr(), s.SocketURL())
	cli := redistest.AdminClient(s.Addr())
	defer cli.Close()
	require.NoError(t, cli.Set(t.Context(), "k", "v", 0).Err())
	require.NoError(t, s.Restart())
	require.ErrorContains(t, cli.Get(t.Context(), "k").Err(), "nil", "data is lost on restart")
	require.NoError(t, s.Stop())
	require.NoError(t, s.Stop(), "Stop is idempotent")
}

func TestCluster(t *testing.T) {
	began := time.Now()
	c := redistest.SharedCluster(t)
	t.Logf("cluster up in %v: %v", time.Since(began), c.Hosts())
	require.Same(t, c, redistest.SharedCluster(t))
	cli := redistest.AdminClient(c.Hosts()[1])
	defer cli.Close()
	info, err := cli.Do(t.Context(), "cluster", "info").Text()
	require.NoError(t, err)
	require.Contains(t, info, "cluster_state:ok")
}
