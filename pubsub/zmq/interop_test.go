package zmq_test

// Interop with real libzmq 4.3 through Debian's python3-zmq (pyzmq), run as
// /usr/bin/python3 (not a pyenv python on PATH). A missing peer is a
// failure, never a skip: ./scripts/install-test-deps.sh installs it.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

const python = "/usr/bin/python3"

// pyCommon is prepended to every script: a body checker shared by the
// receiving scripts.
const pyCommon = `
import sys, json, time, select
import zmq, msgpack

def check_body(frames):
    assert len(frames) == 2, "want 2 frames, got %d" % len(frames)
    body = msgpack.unpackb(frames[1], raw=False)
    for k in ("table", "key", "action", "value", "topic"):
        assert k in body, "missing %s in %r" % (k, body)
    assert (body["topic"] or "D") == frames[0].decode(), (body["topic"], frames[0])
    return body
`

// pyProc is a running peer script.
type pyProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	wg    sync.WaitGroup
}

// startPy runs script with args; its stdout lines arrive on lines.
func startPy(t *testing.T, script string, args ...string) *pyProc {
	t.Helper()
	if out, err := exec.Command(python, "-c", "import zmq, msgpack; print(zmq.zmq_version())").CombinedOutput(); err != nil {
		t.Fatalf("libzmq peer unavailable (%s -c 'import zmq, msgpack': %v: %s): run ./scripts/install-test-deps.sh", python, err, out)
	}
	cmd := exec.Command(python, append([]string{"-c", pyCommon + script}, args...)...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	p := &pyProc{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	p.wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	})
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { p.wg.Wait(); done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil && !t.Failed() {
				t.Errorf("python peer: %v\n%s", err, stderr.String())
			}
		case <-time.After(waitTimeout):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("python peer did not exit\n%s", stderr.String())
		}
	})
	return p
}

// line returns the next stdout line.
func (p *pyProc) line(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-p.lines:
		require.True(t, ok, "python peer exited early")
		return l
	case <-time.After(waitTimeout):
		require.FailNow(t, "python peer is silent")
		return ""
	}
}

func (p *pyProc) say(t *testing.T, s string) {
	t.Helper()
	_, err := io.WriteString(p.stdin, s+"\n")
	require.NoError(t, err)
}

// TestInteropLibzmqSubscriber: a libzmq SUB subscribed to "D" receives
// exactly the N "D" and N "Dxyz" events of our PUB (prefix semantics),
// none of "other", each as [topic, msgpack body] with the 5 keys.
func TestInteropLibzmqSubscriber(t *testing.T) {
	const n = 2000
	p := startPub(t, fastDriver(), "interop-pub", "tcp://127.0.0.1:0", 1)
	py := startPy(t, `
uri, n = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.RCVHWM, 0)
s.connect(uri)
s.setsockopt(zmq.SUBSCRIBE, b"D")
counts = {}
s.setsockopt(zmq.RCVTIMEO, 20000)
while sum(counts.values()) < n:
    frames = s.recv_multipart()
    body = check_body(frames)
    t = frames[0].decode()
    counts[t] = counts.get(t, 0) + 1
print(json.dumps(counts), flush=True)
s.close()
ctx.term()
`, p.Info().URI, fmt.Sprint(2*n))
	waitSubscribed(t, p, 1, "D")
	conns := p.Stats().Conns
	require.Len(t, conns, 1)
	require.Equal(t, "SUB", conns[0].SocketType)
	require.False(t, conns[0].V2, "libzmq does not announce X-Df-Version")
	publishN(t, p, "other", "o", n)
	publishN(t, p, "D", "d", n)
	publishN(t, p, "other", "o2", n)
	publishN(t, p, "Dxyz", "x", n)
	var counts map[string]int
	require.NoError(t, json.Unmarshal([]byte(py.line(t)), &counts))
	require.Equal(t, map[string]int{"D": n, "Dxyz": n}, counts)
	require.Zero(t, p.Stats().Dropped)
}

// TestInteropLibzmqPublisher: our SUB receives exactly N events from a
// libzmq PUB (it filters "other" by our subscription); a 3-frame message in
// between is dropped, counted and reported, and the connection goes on.
func TestInteropLibzmqPublisher(t *testing.T) {
	const n = 2000
	py := startPy(t, `
n = int(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
s.setsockopt(zmq.LINGER, 0)
s.setsockopt(zmq.SNDHWM, 0)  # no HWM drops: the test counts exactly
port = s.bind_to_random_port("tcp://127.0.0.1")
print(port, flush=True)
def body(key, topic):
    return msgpack.packb({"table": "lport", "key": key, "action": "set", "value": '{"id": "%s"}' % key, "topic": topic}, use_bin_type=False)
while not select.select([sys.stdin], [], [], 0.01)[0]:
    s.send_multipart([b"D", body("probe", "D")])
assert sys.stdin.readline().strip() == "go"
s.send_multipart([b"D", b"three", b"frames"])
for i in range(n):
    s.send_multipart([b"other", body("o-%d" % i, "other")])
    s.send_multipart([b"D", body("ev-%d" % i, "D")])
sys.stdin.readline()
s.close()
ctx.term()
`, fmt.Sprint(n))
	port := py.line(t)
	d := fastDriver()
	s, sk := startSub(t, d, 0, "D")
	register(t, s, "libzmq-pub", "tcp://127.0.0.1:"+port)
	isProbe := func(ev pubsub.Event) bool { return ev.Update.Key == "probe" }
	waitUntil(t, "a probe", func() bool { return sk.count(isProbe) > 0 })
	py.say(t, "go")
	isEv := func(ev pubsub.Event) bool { return strings.HasPrefix(ev.Update.Key, "ev-") }
	waitUntil(t, "N events", func() bool { return sk.count(isEv) == n })
	py.say(t, "done")
	evs, gaps := sk.snapshot()
	i := 0
	for _, ev := range evs {
		require.NotEqual(t, "other", ev.Update.Topic)
		if isEv(ev) {
			require.Equal(t, fmt.Sprintf("ev-%d", i), ev.Update.Key)
			require.True(t, ev.Meta.IsZero(), "a libzmq peer sends no v2 meta")
			i++
		}
	}
	require.Equal(t, []pubsub.Gap{{Reason: pubsub.GapMalformed, PublisherID: "libzmq-pub", Topic: "D", Lost: 1}}, gaps)
	require.Equal(t, uint64(1), s.Stats().BadMessages)
	require.Equal(t, uint64(1), s.Stats().Connects)
}

// TestInteropLibzmqPushToPull: a libzmq PUSH delivers to our PULL over ipc.
func TestInteropLibzmqPushToPull(t *testing.T) {
	const n = 2000
	uri := "ipc://" + filepath.Join(t.TempDir(), "pull.sock")
	_, sk := startPull(t, fastDriver(), uri)
	startPy(t, `
uri, n = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.connect(uri)
for i in range(n):
    s.send_multipart([b"D", msgpack.packb({"table": "lport", "key": "k-%d" % i, "action": "update", "value": "ACTIVE", "topic": None}, use_bin_type=False)])
s.close()
ctx.term()
`, uri, fmt.Sprint(n))
	waitUntil(t, "N events", func() bool { return sk.count(func(pubsub.Event) bool { return true }) == n })
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps)
	for i, ev := range evs {
		require.Equal(t, fmt.Sprintf("k-%d", i), ev.Update.Key)
		require.Equal(t, "", ev.Update.Topic, "a nil topic stays empty")
		require.Equal(t, "ACTIVE", string(ev.Update.Value))
	}
}

// TestInteropPushToLibzmqPull: our PUSH delivers to a libzmq PULL over ipc,
// bodies carrying the v2 keys, which libzmq peers ignore.
func TestInteropPushToLibzmqPull(t *testing.T) {
	const n = 2000
	path := filepath.Join(t.TempDir(), "pypull.sock")
	py := startPy(t, `
uri, n = sys.argv[1], int(sys.argv[2])
ctx = zmq.Context()
s = ctx.socket(zmq.PULL)
s.setsockopt(zmq.LINGER, 0)
s.bind(uri)
print("ready", flush=True)
s.setsockopt(zmq.RCVTIMEO, 20000)
seqs = []
for i in range(n):
    body = check_body(s.recv_multipart())
    assert body["pub_id"] == "worker", body
    seqs.append(body["seq"])
print(json.dumps({"n": len(seqs), "inorder": seqs == list(range(1, n + 1))}), flush=True)
s.close()
ctx.term()
`, "ipc://"+path, fmt.Sprint(n))
	require.Equal(t, "ready", py.line(t))
	w := startPush(t, fastDriver(), "worker", "ipc://"+path, time.Second)
	waitUntil(t, "the PUSH connected", func() bool { return w.Subscribers() == 1 })
	conns := w.Stats().Conns
	require.Len(t, conns, 1)
	require.Equal(t, "PULL", conns[0].SocketType)
	require.False(t, conns[0].V2, "libzmq does not announce X-Df-Version")
	publishN(t, w, "D", "w", n)
	var got struct {
		N       int  `json:"n"`
		InOrder bool `json:"inorder"`
	}
	require.NoError(t, json.Unmarshal([]byte(py.line(t)), &got))
	require.Equal(t, n, got.N)
	require.True(t, got.InOrder)
}

// TestInteropLibzmqHeartbeat: libzmq answers our PINGs, so the publisher
// enforces its peer timeout on the libzmq SUB, which stays connected well
// beyond it while idle.
func TestInteropLibzmqHeartbeat(t *testing.T) {
	const timeout = 150 * time.Millisecond
	d := fastDriver(zmq.WithHeartbeat(20*time.Millisecond), zmq.WithPeerTimeout(timeout))
	p := startPub(t, d, "interop-hb", "tcp://127.0.0.1:0", 1)
	py := startPy(t, `
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.LINGER, 0)
s.connect(sys.argv[1])
s.setsockopt(zmq.SUBSCRIBE, b"D")
s.setsockopt(zmq.RCVTIMEO, 20000)
check_body(s.recv_multipart())
print("got", flush=True)
s.close()
ctx.term()
`, p.Info().URI)
	waitSubscribed(t, p, 1, "D")
	time.Sleep(5 * timeout) // idle: only PING/PONG flow; a peer that did not answer would be cut
	publishN(t, p, "D", "ev", 1)
	require.Equal(t, "got", py.line(t))
	st := p.Stats()
	require.Equal(t, uint64(1), st.Accepted)
	require.Zero(t, st.Cut)
}
