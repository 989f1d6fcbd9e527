package zmq_test

// CURVE between our own sockets: delivery, refusals (wrong server key,
// client key not allowed, NULL peer), configuration errors.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// curveKeys is a key pair as Z85 text.
type curveKeys struct{ pub, sec string }

func newCurveKeys(t testing.TB) curveKeys {
	t.Helper()
	pub, sec, err := zmq.GenerateCurveKeyPair()
	require.NoError(t, err)
	require.Len(t, pub, 40)
	require.Len(t, sec, 40)
	return curveKeys{pub, sec}
}

// curveServer and curveClient are test drivers with CURVE roles.
func curveServer(srv curveKeys, allowed ...curveKeys) *zmq.Driver {
	var keys []string
	for _, k := range allowed {
		keys = append(keys, k.pub)
	}
	return fastDriver(zmq.WithCurveServer(srv.sec, keys))
}

func curveClient(cli curveKeys, serverPub string) *zmq.Driver {
	return fastDriver(zmq.WithCurveClient(cli.sec, cli.pub, serverPub))
}

// TestCurvePubSub: our CURVE SUB receives exactly N events of our CURVE
// PUB, in order, with heartbeats (PING/PONG and sequence heartbeats travel
// encrypted too), and nothing is refused.
func TestCurvePubSub(t *testing.T) {
	const n = 3000
	srv, cli := newCurveKeys(t), newCurveKeys(t)
	p := startPub(t, curveServer(srv, cli), "curve-pub", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, curveClient(cli, srv.pub), 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	conns := p.Stats().Conns
	require.Len(t, conns, 1)
	require.True(t, conns[0].V2)
	publishN(t, p, "other", "o", n)
	publishN(t, p, "D", "d", n)
	waitUntil(t, "N events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == n })
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	requireSeqRun(t, evs)
	for i, ev := range evs {
		require.Equal(t, fmt.Sprintf("d-%d", i), ev.Update.Key)
		require.True(t, ev.Authenticated, "events over CURVE are marked authenticated")
	}
	require.Empty(t, p.Stats().Rejected)
	require.Empty(t, s.Stats().Rejected)
	require.Equal(t, uint64(1), s.Stats().Connects)
}

// TestCurvePushPull: a CURVE PUSH delivers to a CURVE PULL over ipc.
func TestCurvePushPull(t *testing.T) {
	const n = 2000
	srv, cli := newCurveKeys(t), newCurveKeys(t)
	uri := "ipc://" + filepath.Join(t.TempDir(), "curve.sock")
	pull, sk := startPull(t, curveServer(srv, cli), uri)
	w := startPush(t, curveClient(cli, srv.pub), "worker", uri, time.Second)
	waitUntil(t, "the PUSH connected", func() bool { return w.Subscribers() == 1 })
	publishN(t, w, "D", "w", n)
	waitUntil(t, "N events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == n })
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	requireSeqRun(t, evs)
	require.Empty(t, pull.Stats().Rejected)
}

// requireRefused waits until the publisher refused the subscriber twice
// (it keeps retrying) by reason, and the subscriber counted subReason;
// then no connection exists, so nothing published can reach it.
func requireRefused(t *testing.T, p *zmq.Publisher, s *zmq.Subscriber, reason, subReason string, sk *sink) {
	t.Helper()
	waitUntil(t, "refusals counted by "+reason, func() bool {
		return p.Stats().Rejected[reason] >= 2 && s.Stats().Rejected[subReason] >= 1
	})
	publishN(t, p, "D", "secret", 100)
	st := p.Stats()
	require.Zero(t, st.Accepted)
	require.Empty(t, st.Conns)
	require.Zero(t, s.Stats().Connects)
	require.Zero(t, s.Stats().Received)
	require.Zero(t, sk.count(func(pubsub.Event) bool { return true }))
}

func TestCurveWrongServerKey(t *testing.T) {
	srv, cli, other := newCurveKeys(t), newCurveKeys(t), newCurveKeys(t)
	p := startPub(t, curveServer(srv, cli), "curve-pub", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, curveClient(cli, other.pub), 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	// The server cannot open the HELLO (sealed to another key) and says so.
	requireRefused(t, p, s, "curve_auth", "peer_error", sk)
}

func TestCurveClientNotAllowed(t *testing.T) {
	srv, cli, intruder := newCurveKeys(t), newCurveKeys(t), newCurveKeys(t)
	p := startPub(t, curveServer(srv, cli), "curve-pub", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, curveClient(intruder, srv.pub), 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	requireRefused(t, p, s, "curve_auth", "peer_error", sk)
}

// TestCurveNullPeerRefused: a NULL subscriber and a CURVE publisher refuse
// each other at the greeting, both ways round.
func TestCurveNullPeerRefused(t *testing.T) {
	srv, cli := newCurveKeys(t), newCurveKeys(t)
	p := startPub(t, curveServer(srv, cli), "curve-pub", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, fastDriver(), 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	requireRefused(t, p, s, "mechanism", "mechanism", sk)

	plain := startPub(t, fastDriver(), "null-pub", "tcp://127.0.0.1:0", 1)
	s2, sk2 := startSub(t, curveClient(cli, srv.pub), 0, "D")
	register(t, s2, plain.Info().ID, plain.Info().URI)
	requireRefused(t, plain, s2, "mechanism", "mechanism", sk2)
}

func TestCurveConfig(t *testing.T) {
	ctx := context.Background()
	srv, cli := newCurveKeys(t), newCurveKeys(t)
	pubCfg := pubsub.PublisherConfig{ID: "x", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"}
	subCfg := pubsub.SubscriberConfig{OnEvent: func(pubsub.Event) {}}

	// A role without keys: never a silent NULL fallback.
	_, err := curveClient(cli, srv.pub).NewPublisher(ctx, pubCfg)
	require.ErrorIs(t, err, zmq.ErrCurveConfig)
	_, err = curveClient(cli, srv.pub).NewPull(ctx, "tcp://127.0.0.1:0", subCfg)
	require.ErrorIs(t, err, zmq.ErrCurveConfig)
	_, err = curveServer(srv, cli).NewSubscriber(ctx, subCfg)
	require.ErrorIs(t, err, zmq.ErrCurveConfig)
	_, err = curveServer(srv, cli).NewPublisher(ctx, pubsub.PublisherConfig{ID: "x", Epoch: 1, ListenURI: "tcp://127.0.0.1:1", Multiproc: true})
	require.ErrorIs(t, err, zmq.ErrCurveConfig)

	for name, d := range map[string]*zmq.Driver{
		"bad secret":       zmq.New(zmq.WithCurveServer("not a key", []string{cli.pub})),
		"no allowed keys":  zmq.New(zmq.WithCurveServer(srv.sec, nil)),
		"bad allowed key":  zmq.New(zmq.WithCurveServer(srv.sec, []string{cli.pub[:39] + "~"})),
		"mismatched pair":  zmq.New(zmq.WithCurveClient(cli.sec, srv.pub, srv.pub)),
		"bad server key":   zmq.New(zmq.WithCurveClient(cli.sec, cli.pub, "short")),
		"bad client + srv": zmq.New(zmq.WithCurveServer(srv.sec, []string{cli.pub}), zmq.WithCurveClient(cli.sec, "x", srv.pub)),
	} {
		_, err := d.NewPublisher(ctx, pubCfg)
		require.ErrorIs(t, err, zmq.ErrCurveConfig, name)
		require.NotContains(t, err.Error(), srv.sec, name)
		require.NotContains(t, err.Error(), cli.sec, name)
	}

	pub, err := zmq.CurvePublicKey(srv.sec)
	require.NoError(t, err)
	require.Equal(t, srv.pub, pub)

	// Both roles in one driver: a node that publishes and subscribes.
	both := fastDriver(zmq.WithCurveServer(srv.sec, []string{srv.pub}), zmq.WithCurveClient(srv.sec, srv.pub, srv.pub))
	p := startPub(t, both, "self", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, both, 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	publishN(t, p, "D", "d", 10)
	waitUntil(t, "10 events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == 10 })
}

func TestCurveKeyFiles(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := newCurveKeys(t), newCurveKeys(t)
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		return p
	}

	sec := write("server.key", "  "+k1.sec+"\n", 0o600)
	got, err := zmq.ReadCurveSecretKeyFile(sec)
	require.NoError(t, err)
	require.Equal(t, k1.sec, got)

	// A ZeroMQ certificate (zmq.auth.create_certificates' format).
	cert := write("server.key_secret", "#   ZeroMQ CURVE **Secret** Certificate\nmetadata\ncurve\n    public-key = \""+k1.pub+"\"\n    secret-key = \""+k1.sec+"\"\n", 0o400)
	got, err = zmq.ReadCurveSecretKeyFile(cert)
	require.NoError(t, err)
	require.Equal(t, k1.sec, got)
	pubs, err := zmq.ReadCurvePublicKeysFile(cert)
	require.NoError(t, err)
	require.Equal(t, []string{k1.pub}, pubs)

	_, err = zmq.ReadCurveSecretKeyFile(write("open.key", k1.sec, 0o644))
	require.ErrorIs(t, err, zmq.ErrCurveConfig)
	require.NotContains(t, err.Error(), k1.sec)
	_, err = zmq.ReadCurveSecretKeyFile(write("two.key", k1.sec+"\n"+k2.sec, 0o600))
	require.ErrorIs(t, err, zmq.ErrCurveConfig)
	require.NotContains(t, err.Error(), k1.sec)

	list := write("clients", "# controllers\n"+k1.pub+"\n\n"+k2.pub+"\n", 0o644)
	pubs, err = zmq.ReadCurvePublicKeysFile(list)
	require.NoError(t, err)
	require.Equal(t, []string{k1.pub, k2.pub}, pubs)
	_, err = zmq.ReadCurvePublicKeysFile(write("bad", k1.pub+"\nnot-a-key\n", 0o644))
	require.ErrorIs(t, err, zmq.ErrCurveConfig)
	_, err = zmq.ReadCurvePublicKeysFile(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
