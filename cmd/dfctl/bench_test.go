package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBenchHelpDocumentsPeers(t *testing.T) {
	out, _, err := dfctl(t, "bench", "--help")
	require.NoError(t, err)
	for _, want := range []string{"--peers", "plain nats.go", "embedded etcd", "redis-server", "nats-server"} {
		require.Contains(t, out, want)
	}
}

func TestBenchRejectsBadTransports(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--driver=", "--peers", "raw"}, "reference always runs first"},
		{[]string{"--driver=", "--peers", "nosuch"}, "unknown driver"},
		{[]string{"--driver", "etcd", "--peers", "etcd"}, "already measured"},
		{[]string{"--driver=", "--peers", "nats,nats.go"}, "already measured"},
	} {
		_, _, err := dfctl(t, append([]string{"bench", "--passes", "1"}, tc.args...)...)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

// TestBenchPeerRedis measures the redis driver through the redis-server the
// bench starts (a missing redis-server fails the test: never a skip), and
// the plain nats.go peer next to it; one tiny scenario each.
func TestBenchPeerRedis(t *testing.T) {
	md := filepath.Join(t.TempDir(), "bench.md")
	out, _, err := dfctl(t, "bench", "--driver=", "--peers", "redis,nats", "--passes", "1", "--window", "100ms",
		"--drain", "2s", "--scenarios", "a-tput", "--md", md)
	require.NoError(t, err)
	require.Contains(t, out, "| redis | ")
	require.Contains(t, out, "| nats.go | ")
	require.NotContains(t, out, "### Errors")
	require.Contains(t, out, "redis-server process on a loopback port")
	file, err := os.ReadFile(md)
	require.NoError(t, err)
	require.Equal(t, out, string(file))
}
