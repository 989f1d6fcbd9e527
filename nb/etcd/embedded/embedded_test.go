package embedded_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/etcdtest"
	"github.com/dragonflow-go/dragonflow/internal/zapslog/zapslogtest"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client returns a plain etcd client for endpoint, closed at cleanup.
func client(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes and reads back a key through endpoint.
func roundTrip(t *testing.T, endpoint, key string) {
	t.Helper()
	c := client(t, endpoint)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := c.Put(ctx, key, "v")
	require.NoError(t, err)
	got, err := c.Get(ctx, key)
	require.NoError(t, err)
	require.Len(t, got.Kvs, 1)
	assert.Equal(t, "v", string(got.Kvs[0].Value))
}

func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "etcd.sock")
	s := etcdtest.Start(t, embedded.Config{DataDir: filepath.Join(dir, "data"), ClientSocket: sock})
	require.Equal(t, []string{"unix://" + sock}, s.Endpoints())
	roundTrip(t, s.Endpoints()[0], "/t/unix")
}

func TestTCPPortZeroResolved(t *testing.T) {
	s := etcdtest.Start(t, embedded.Config{DataDir: filepath.Join(t.TempDir(), "data"), ClientAddr: "127.0.0.1:0"})
	eps := s.Endpoints()
	require.Len(t, eps, 1)
	assert.True(t, strings.HasPrefix(eps[0], "127.0.0.1:"), eps[0])
	assert.NotEqual(t, "127.0.0.1:0", eps[0])
	roundTrip(t, eps[0], "/t/tcp")
}

func TestBothEndpointsSocketFirst(t *testing.T) {
	dir := t.TempDir()
	s := etcdtest.Start(t, embedded.Config{
		DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "s.sock"), ClientAddr: "127.0.0.1:0",
	})
	eps := s.Endpoints()
	require.Len(t, eps, 2)
	assert.True(t, strings.HasPrefix(eps[0], "unix:///"), eps[0])
	for _, ep := range eps {
		roundTrip(t, ep, "/t/both")
	}
}

func TestDataDirCreated0700(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	etcdtest.Start(t, embedded.Config{DataDir: dir})
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

func TestCloseIsIdempotentAndClosesDone(t *testing.T) {
	s, err := embedded.Start(t.Context(), embedded.Config{DataDir: filepath.Join(t.TempDir(), "data"), ClientAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	select {
	case <-s.Done():
		t.Fatal("Done closed while running")
	default:
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { assert.NoError(t, s.Close()) })
	}
	wg.Wait()
	assert.NoError(t, s.Close())
	<-s.Done()
	assert.NoError(t, s.Err())
}

func TestCloseDoesNotWaitForClientStreams(t *testing.T) {
	for range 5 {
		s, err := embedded.Start(t.Context(), embedded.Config{DataDir: filepath.Join(t.TempDir(), "data"), ClientAddr: "127.0.0.1:0"})
		require.NoError(t, err)
		c := client(t, s.Endpoints()[0])
		wch := c.Watch(t.Context(), "/t/", clientv3.WithPrefix(), clientv3.WithCreatedNotify())
		created := <-wch
		require.True(t, created.Created)
		ka, err := c.Grant(t.Context(), 60)
		require.NoError(t, err)
		_, err = c.KeepAlive(t.Context(), ka.ID)
		require.NoError(t, err)

		began := time.Now()
		require.NoError(t, s.Close())
		// etcd alone waits for open streams for its request timeout (5.2 s).
		assert.Less(t, time.Since(began), time.Second)
	}
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	cfg := embedded.Config{DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "etcd.sock")}
	s, err := embedded.Start(t.Context(), cfg)
	require.NoError(t, err)
	c := client(t, s.Endpoints()[0])
	put, err := c.Put(t.Context(), "/chassis/c1", "kept")
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, s.Close())

	s = etcdtest.Start(t, cfg)
	got, err := client(t, s.Endpoints()[0]).Get(t.Context(), "/chassis/c1")
	require.NoError(t, err)
	require.Len(t, got.Kvs, 1)
	assert.Equal(t, "kept", string(got.Kvs[0].Value))
	assert.Equal(t, put.Header.Revision, got.Kvs[0].ModRevision)
}

func TestDataDirInUseFailsFast(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	etcdtest.Start(t, embedded.Config{DataDir: dir})
	began := time.Now()
	_, err := embedded.Start(t.Context(), embedded.Config{DataDir: dir, ClientAddr: "127.0.0.1:0", ReadyTimeout: time.Minute})
	require.ErrorContains(t, err, "in use")
	assert.Less(t, time.Since(began), time.Second)
}

func TestNormalCloseLogsNoWarnings(t *testing.T) {
	rec := zapslogtest.NewRecorder(slog.LevelDebug)
	dir := t.TempDir()
	s, err := embedded.Start(t.Context(), embedded.Config{
		DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "s.sock"), ClientAddr: "127.0.0.1:0",
		Logger: rec.Logger(),
	})
	require.NoError(t, err)
	c := client(t, s.Endpoints()[1])
	_, err = c.Put(t.Context(), "/t/k", "v")
	require.NoError(t, err)
	// A client's mistake is the client's error, not a server warning.
	_, err = c.Revoke(t.Context(), 12345)
	require.ErrorIs(t, err, rpctypes.ErrLeaseNotFound)
	require.NoError(t, c.Close())
	require.NoError(t, s.Close())

	assert.Empty(t, rec.AtLeast(slog.LevelWarn))
	var demoted int
	for _, e := range rec.Entries() {
		if strings.Contains(e.Message, "serving from embedded etcd failed") {
			demoted++
		}
	}
	assert.Positive(t, demoted, "etcd's shutdown errors are kept, at debug level")
}

func TestLeaseMinimumTTLIsOneSecond(t *testing.T) {
	s := etcdtest.Start(t, embedded.Config{})
	g, err := client(t, s.Endpoints()[0]).Grant(t.Context(), 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), g.TTL)
}

func TestStartCanceledContextCleansUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := embedded.Start(ctx, embedded.Config{DataDir: dir, ClientAddr: "127.0.0.1:0"})
	require.ErrorIs(t, err, context.Canceled)
	// Everything was released: the data dir is free again (goleak checks
	// the goroutines at exit).
	etcdtest.Start(t, embedded.Config{DataDir: dir})
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]embedded.Config{
		"no data dir":  {ClientAddr: "127.0.0.1:0"},
		"no endpoint":  {DataDir: dir},
		"long socket":  {DataDir: dir, ClientSocket: filepath.Join(dir, strings.Repeat("s", 120))},
		"bad tcp addr": {DataDir: dir, ClientAddr: "nonsense"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := embedded.Start(t.Context(), cfg)
			require.Error(t, err)
		})
	}
}
