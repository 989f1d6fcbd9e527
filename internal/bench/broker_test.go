package bench

import (
	"bytes"
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	_ "github.com/dragonflow-go/dragonflow/pubsub/etcd"
	_ "github.com/dragonflow-go/dragonflow/pubsub/nats"
	_ "github.com/dragonflow-go/dragonflow/pubsub/redis"
)

// TestSmokeBrokers runs every scenario once, with tiny windows, against the
// reference, the plain nats.go peer and the etcd, redis and nats drivers,
// each through the broker it starts itself (c-rss's subscribers in a
// re-executed child that reaches the same broker). Every measurement must
// complete with deliveries, and after CloseTransports every broker must be
// gone: the processes reaped, the etcd data dir removed.
//
// redis-server and nats-server must be installed (apt-get install
// redis-server nats-server, or $REDIS_SERVER / $NATS_SERVER): a missing one
// fails the test, under CI=true or not. It never skips.
func TestSmokeBrokers(t *testing.T) {
	for _, b := range []struct{ name, env, debian string }{
		{"redis-server", "REDIS_SERVER", "/usr/bin/redis-server"},
		{"nats-server", "NATS_SERVER", "/usr/sbin/nats-server"},
	} {
		_, err := FindBrokerBinary(b.name, b.env, b.debian)
		require.NoError(t, err, "CI=%q: a missing broker binary is a failure, never a skip", os.Getenv("CI"))
	}

	// As `dfctl bench --driver= --peers nats,etcd,redis` plus --driver nats.
	trs := []Transport{RawTCP{}}
	for _, name := range []string{PeerNATS, "etcd", "redis"} {
		tr, err := OpenPeer(name, nil)
		require.NoError(t, err)
		trs = append(trs, tr)
	}
	drv, err := Open("nats", nil)
	require.NoError(t, err)
	trs = append(trs, drv)
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = CloseTransports(trs)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	start := time.Now()
	rep, err := Run(ctx, Options{
		Transports: trs,
		Passes:     1,
		Window:     100 * time.Millisecond,
		Subs:       3,
		Drain:      2 * time.Second,
		Settle:     10 * time.Millisecond,
		Progress:   &progress,
	})
	t.Logf("run took %v:\n%s", time.Since(start).Round(time.Millisecond), progress.String())
	require.NoError(t, err)
	require.Len(t, rep.Results, len(Scenarios())*len(trs))
	for _, res := range rep.Results {
		require.Empty(t, res.Error, "%s %s", res.Scenario, res.Transport)
		require.Empty(t, res.NotApplicable, "%s %s", res.Scenario, res.Transport)
		require.NotZero(t, res.Sent, "%s %s", res.Scenario, res.Transport)
		require.NotZero(t, res.Received, "%s %s: no deliveries", res.Scenario, res.Transport)
		if res.Scenario == "c-rss" {
			require.NotZero(t, res.RSS.One.RSS, res.Transport)
			require.NotZero(t, res.RSS.Many.RSS, res.Transport)
		}
	}
	require.Equal(t, []string{"raw", NATSGoName, "etcd", "redis", "nats"}, rep.Transports)
	require.Len(t, rep.Brokers, 4)

	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	for _, name := range rep.Transports[1:] {
		require.Contains(t, md.String(), "| "+name+" | ")
	}
	require.NotContains(t, md.String(), "### Errors")

	// Every broker was started, and is gone after CloseTransports.
	type brokered interface{ Broker() Broker }
	var brs []Broker
	for _, tr := range trs[1:] {
		b := tr.(brokered).Broker()
		require.NotNil(t, b, "%s started no broker", tr.Name())
		brs = append(brs, b)
	}
	closed = true
	require.NoError(t, CloseTransports(trs))
	for i, b := range brs {
		name := trs[i+1].Name()
		if pid := b.Pid(); pid != 0 {
			// Reaped by Close: the pid no longer exists.
			require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "%s: broker pid %d still exists", name, pid)
			continue
		}
		eb, ok := b.(*etcdBroker)
		require.True(t, ok, "%s: in-process broker %T", name, b)
		select {
		case <-eb.srv.Done():
		default:
			t.Fatalf("%s: embedded etcd still running", name)
		}
		_, err := os.Stat(eb.dir)
		require.True(t, errors.Is(err, os.ErrNotExist), "%s: data dir %s left behind (%v)", name, eb.dir, err)
	}
	// A closed transport starts no broker again.
	_, err = trs[1].StartPublisher(ctx)
	require.Error(t, err)
}

// TestOpenPeer: --peers nats is the plain nats.go peer, other names are
// drivers, and a broker-less transport needs no closing.
func TestOpenPeer(t *testing.T) {
	tr, err := OpenPeer(PeerNATS, nil)
	require.NoError(t, err)
	require.Equal(t, NATSGoName, tr.Name())
	tr, err = Open("nats", nil)
	require.NoError(t, err)
	require.IsType(t, &Driver{}, tr)
	_, err = OpenPeer("nosuch", nil)
	require.ErrorContains(t, err, "unknown driver")
	require.NoError(t, CloseTransports([]Transport{RawTCP{}, tr}))
}
