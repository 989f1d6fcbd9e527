package zmq_test

// CURVE interop with real libzmq 4.3 (Debian python3-zmq, /usr/bin/python3;
// see interop_test.go): keys made by zmq.curve_keypair() on the python side
// and GenerateCurveKeyPair on ours, exchanged as Z85. A libzmq without
// CURVE support is a failure, never a skip.

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// requireLibzmqCurve fails unless the python peer's libzmq has CURVE.
func requireLibzmqCurve(t *testing.T) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import zmq; print(zmq.has('curve'))").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "True" {
		t.Fatalf("libzmq peer without CURVE (%s: %v: %s): run ./scripts/install-test-deps.sh", python, err, out)
	}
}

// TestInteropCurveLibzmqSubscriber: a libzmq CURVE SUB (its own key pair,
// our server key) receives exactly N "D" events of our CURVE PUB, none of
// "other", while PINGs flow; a libzmq SUB whose key is not allowed is
// refused and counted.
func TestInteropCurveLibzmqSubscriber(t *testing.T) {
	requireLibzmqCurve(t)
	const n = 2000
	srv := newCurveKeys(t)
	py := startPy(t, `
server_pub = sys.argv[1].encode()
ctx = zmq.Context()
def sub(pub, sec):
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVHWM, 0)
    s.curve_serverkey = server_pub
    s.curve_publickey = pub
    s.curve_secretkey = sec
    return s
pub, sec = zmq.curve_keypair()
print(pub.decode(), flush=True)
uri, n = sys.stdin.readline().strip(), int(sys.argv[2])
intruder = sub(*zmq.curve_keypair())
intruder.connect(uri)
intruder.setsockopt(zmq.SUBSCRIBE, b"")
s = sub(pub, sec)
s.connect(uri)
s.setsockopt(zmq.SUBSCRIBE, b"D")
s.setsockopt(zmq.RCVTIMEO, 20000)
print("subscribed", flush=True)
counts = {}
while sum(counts.values()) < n:
    frames = s.recv_multipart()
    check_body(frames)
    t = frames[0].decode()
    counts[t] = counts.get(t, 0) + 1
print(json.dumps(counts), flush=True)
intruder.setsockopt(zmq.RCVTIMEO, 0)
try:
    intruder.recv_multipart()
    print("intruder received", flush=True)
except zmq.Again:
    print("intruder got nothing", flush=True)
s.close()
intruder.close()
ctx.term()
`, srv.pub, fmt.Sprint(n))
	cli := curveKeys{pub: py.line(t)}
	require.Len(t, cli.pub, 40)
	p := startPub(t, curveServer(srv, cli), "curve-interop", "tcp://127.0.0.1:0", 1)
	py.say(t, p.Info().URI)
	require.Equal(t, "subscribed", py.line(t))
	waitSubscribed(t, p, 1, "D")
	waitUntil(t, "the intruder refused", func() bool { return p.Stats().Rejected["curve_auth"] >= 1 })
	st := p.Stats()
	require.Len(t, st.Conns, 1)
	require.Equal(t, "SUB", st.Conns[0].SocketType)
	publishN(t, p, "other", "o", n)
	publishN(t, p, "D", "d", n)
	var counts map[string]int
	require.NoError(t, json.Unmarshal([]byte(py.line(t)), &counts))
	require.Equal(t, map[string]int{"D": n}, counts)
	require.Equal(t, "intruder got nothing", py.line(t))
	st = p.Stats()
	require.Zero(t, st.Dropped)
	require.Equal(t, uint64(1), st.Accepted)
	require.Zero(t, st.Cut, "libzmq answers our encrypted PINGs")
}

// TestInteropCurveLibzmqPublisher: our CURVE SUB receives exactly N events
// from a libzmq CURVE PUB whose ZAP handler admits only our client key; the
// libzmq side reports the key it authenticated.
func TestInteropCurveLibzmqPublisher(t *testing.T) {
	requireLibzmqCurve(t)
	const n = 2000
	cli := newCurveKeys(t)
	py := startPy(t, `
from zmq.auth.thread import ThreadAuthenticator
allowed = sys.argv[1].encode()
n = int(sys.argv[2])
ctx = zmq.Context()
seen = []
class Keys:
    def callback(self, domain, key):
        seen.append(key.decode())
        return key == allowed
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve_callback("*", credentials_provider=Keys())
pub, sec = zmq.curve_keypair()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.SNDHWM, 0)
s.curve_server = True
s.curve_secretkey = sec
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, pub.decode(), flush=True)
def body(key, topic):
    return msgpack.packb({"table": "lport", "key": key, "action": "set", "value": '{"id": "%s"}' % key, "topic": topic}, use_bin_type=False)
while not select.select([sys.stdin], [], [], 0.01)[0]:
    s.send_multipart([b"D", body("probe", "D")])
assert sys.stdin.readline().strip() == "go"
for i in range(n):
    s.send_multipart([b"other", body("o-%d" % i, "other")])
    s.send_multipart([b"D", body("ev-%d" % i, "D")])
sys.stdin.readline()
print(json.dumps(sorted(set(seen))), flush=True)
s.close()
auth.stop()
ctx.term()
`, cli.pub, fmt.Sprint(n))
	fields := strings.Fields(py.line(t))
	require.Len(t, fields, 2)
	port, serverPub := fields[0], fields[1]
	s, sk := startSub(t, curveClient(cli, serverPub), 0, "D")
	register(t, s, "libzmq-curve-pub", "tcp://127.0.0.1:"+port)
	isProbe := func(ev pubsub.Event) bool { return ev.Update.Key == "probe" }
	waitUntil(t, "a probe", func() bool { return sk.count(isProbe) > 0 })
	py.say(t, "go")
	isEv := func(ev pubsub.Event) bool { return strings.HasPrefix(ev.Update.Key, "ev-") }
	waitUntil(t, "N events", func() bool { return sk.count(isEv) == n })
	py.say(t, "done")
	var seen []string
	require.NoError(t, json.Unmarshal([]byte(py.line(t)), &seen))
	require.Equal(t, []string{cli.pub}, seen, "libzmq authenticated our permanent key")
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	i := 0
	for _, ev := range evs {
		require.NotEqual(t, "other", ev.Update.Topic)
		if isEv(ev) {
			require.Equal(t, fmt.Sprintf("ev-%d", i), ev.Update.Key)
			i++
		}
	}
	require.Equal(t, n, i)
	require.Equal(t, uint64(1), s.Stats().Connects)
	require.Empty(t, s.Stats().Rejected)
}

// TestInteropCurveCertificates: the certificate files pyzmq writes
// (zmq.auth.create_certificates) are read as key files.
func TestInteropCurveCertificates(t *testing.T) {
	requireLibzmqCurve(t)
	dir := t.TempDir()
	out, err := exec.Command(python, "-c", `
import os, sys, zmq.auth
pub, sec = zmq.auth.create_certificates(sys.argv[1], "server")
os.chmod(sec, 0o600)
print(pub, sec)
`, dir).CombinedOutput()
	require.NoError(t, err, "%s", out)
	files := strings.Fields(string(out))
	require.Len(t, files, 2)
	sec, err := zmq.ReadCurveSecretKeyFile(files[1])
	require.NoError(t, err)
	pubs, err := zmq.ReadCurvePublicKeysFile(files[0])
	require.NoError(t, err)
	require.Len(t, pubs, 1)
	derived, err := zmq.CurvePublicKey(sec)
	require.NoError(t, err)
	require.Equal(t, pubs[0], derived)
}

// TestInteropCurveHeartbeat: PING/PONG travel inside MESSAGE boxes (command
// flag) both ways: our PUB pings the libzmq CURVE SUB and enforces its peer
// timeout once answered; the libzmq SUB pings us with its own heartbeat
// timeout. Both stay connected well beyond the timeouts while idle.
func TestInteropCurveHeartbeat(t *testing.T) {
	requireLibzmqCurve(t)
	const timeout = 150 * time.Millisecond
	srv := newCurveKeys(t)
	py := startPy(t, `
ctx = zmq.Context()
pub, sec = zmq.curve_keypair()
print(pub.decode(), flush=True)
uri = sys.stdin.readline().strip()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.HEARTBEAT_IVL, 20)
s.setsockopt(zmq.HEARTBEAT_TIMEOUT, 150)
s.curve_serverkey = sys.argv[1].encode()
s.curve_publickey = pub
s.curve_secretkey = sec
s.connect(uri)
s.setsockopt(zmq.SUBSCRIBE, b"D")
s.setsockopt(zmq.RCVTIMEO, 20000)
check_body(s.recv_multipart())
print("got", flush=True)
s.close()
ctx.term()
`, srv.pub)
	cli := curveKeys{pub: py.line(t)}
	d := fastDriver(zmq.WithHeartbeat(20*time.Millisecond), zmq.WithPeerTimeout(timeout),
		zmq.WithCurveServer(srv.sec, []string{cli.pub}))
	p := startPub(t, d, "curve-hb", "tcp://127.0.0.1:0", 1)
	py.say(t, p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	time.Sleep(5 * timeout) // idle: only PING/PONG flow; an unanswered side would cut the connection
	publishN(t, p, "D", "ev", 1)
	require.Equal(t, "got", py.line(t))
	st := p.Stats()
	require.Equal(t, uint64(1), st.Accepted, "libzmq never reconnected")
	require.Zero(t, st.Cut)
	require.Empty(t, st.Rejected)
}
