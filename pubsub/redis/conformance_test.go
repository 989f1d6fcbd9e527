package redis_test

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/redistest"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
	"github.com/dragonflow-go/dragonflow/pubsub/redis"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(redistest.ExitAfterStopShared))
}

// testLogger logs warnings and errors to the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// harness is the conformance harness on the broker at hosts. Cases share
// the broker: pubsubtest names its topics and publishers uniquely per case.
func harness(hosts []string) pubsubtest.Factory {
	return func(t *testing.T) pubsubtest.Harness {
		return pubsubtest.Harness{
			Driver: redis.NewDriver(redis.Options{}),
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{Hosts: hosts}
			},
			SubscriberHosts: hosts,
			AliasURI:        func(uri string) string { return uri + "?alias" },
			Logger:          testLogger(t),
		}
	}
}

// TestConformanceStandalone runs the pubsub conformance suite against one
// redis-server shared by the package's tests.
func TestConformanceStandalone(t *testing.T) {
	pubsubtest.Run(t, harness([]string{redistest.SharedServer(t).Addr()}))
}

// TestConformanceUnixSocket runs it over a unix socket.
func TestConformanceUnixSocket(t *testing.T) {
	srv := redistest.Start(t, true)
	pubsubtest.Run(t, harness([]string{srv.SocketURL()}))
}

// TestConformanceCluster runs it against a Redis Cluster of three masters
// shared by the package's tests; publishers and subscribers get every
// node as a seed.
func TestConformanceCluster(t *testing.T) {
	pubsubtest.Run(t, harness(redistest.SharedCluster(t).Hosts()))
}
