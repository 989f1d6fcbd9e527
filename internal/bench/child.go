package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// childExitWait bounds how long a child may take to exit after its stdin
// is closed before it is killed.
const childExitWait = 10 * time.Second

// ChildEnv marks a process started by SelfExec as an RSS child.
const ChildEnv = "DFBENCH_CHILD"

// Launcher returns the command that starts an RSS child: a process that
// calls ServeChild on its stdin and stdout (see SelfExec).
type Launcher func(ctx context.Context) *exec.Cmd

// SelfExec re-executes the running binary with args and ChildEnv=1. A
// program (or a test binary's TestMain) that sees IsChild must run
// ChildMain, or ServeChild, instead of its normal work.
func SelfExec(args ...string) Launcher {
	return func(ctx context.Context) *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		cmd := exec.CommandContext(ctx, exe, args...)
		// A race-enabled child (go test -race) would sleep 1 s at exit.
		race := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
		cmd.Env = append(os.Environ(), ChildEnv+"=1", "GORACE="+race)
		return cmd
	}
}

// IsChild reports whether this process was started as an RSS child.
func IsChild() bool { return os.Getenv(ChildEnv) == "1" }

// ChildMain serves the child protocol on stdin and stdout, logging to
// stderr, and returns the process exit code.
func ChildMain() int {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := ServeChild(context.Background(), os.Stdin, os.Stdout, logger); err != nil {
		fmt.Fprintln(os.Stderr, "bench child:", err)
		return 1
	}
	return 0
}

// ChildSpec is the first line the parent sends: what to host.
type ChildSpec struct {
	Transport string `json:"transport"`
	Addr      string `json:"addr"`
	Subs      int    `json:"subs"`
}

// childStats is every reply of the child: to the spec (an acknowledgement,
// or Error) and to each "stats" request.
type childStats struct {
	Ready    int    `json:"ready"`
	Received uint64 `json:"received"`
	Gaps     uint64 `json:"gaps"`
	GapLost  uint64 `json:"gap_lost"`
	Error    string `json:"error,omitempty"`
}

// ServeChild hosts subscribers for the parent's RSS scenario. Protocol, one
// JSON or word line each way: the parent sends a ChildSpec, the child
// starts Subs subscribers of the transport on Addr and acknowledges; then
// every "stats" line gets the counts back. EOF on in closes the
// subscribers and returns.
func ServeChild(ctx context.Context, in io.Reader, out io.Writer, logger *slog.Logger) error {
	sc := bufio.NewScanner(in)
	enc := json.NewEncoder(out)
	if !sc.Scan() {
		return fmt.Errorf("bench child: no spec: %w", errors.Join(sc.Err(), io.ErrUnexpectedEOF))
	}
	var spec ChildSpec
	err := json.Unmarshal(sc.Bytes(), &spec)
	var h *childHost
	if err == nil {
		h, err = hostSubscribers(ctx, spec, logger)
	}
	if err != nil {
		return errors.Join(err, enc.Encode(childStats{Error: err.Error()}))
	}
	err = enc.Encode(childStats{})
	for err == nil && sc.Scan() {
		if sc.Text() != "stats" {
			err = fmt.Errorf("bench child: unknown request %q", sc.Text())
			break
		}
		err = enc.Encode(h.stats())
	}
	return errors.Join(err, sc.Err(), h.Close())
}

// childHost is the child's subscribers.
type childHost struct {
	subs     []Subscriber
	counters []*counter
}

func hostSubscribers(ctx context.Context, spec ChildSpec, logger *slog.Logger) (*childHost, error) {
	tr, err := Open(spec.Transport, logger)
	if err != nil {
		return nil, err
	}
	h := &childHost{}
	for i := range spec.Subs {
		c := newCounter(false, false, 0)
		sub, err := tr.StartSubscriber(ctx, spec.Addr, c)
		if err != nil {
			return nil, errors.Join(fmt.Errorf("bench child: subscriber %d: %w", i, err), h.Close())
		}
		h.subs = append(h.subs, sub)
		h.counters = append(h.counters, c)
	}
	return h, nil
}

func (h *childHost) stats() childStats {
	var st childStats
	for _, c := range h.counters {
		if c.ready() {
			st.Ready++
		}
		st.Received += c.data.Load()
		st.Gaps += c.gaps.Load()
		st.GapLost += c.gapLost.Load()
	}
	return st
}

// Close closes every subscriber.
func (h *childHost) Close() error {
	errs := make([]error, 0, len(h.subs))
	for _, s := range h.subs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// childProc is a running RSS child and its protocol pipes.
type childProc struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *tailBuffer
	closed bool
}

// startChild launches a child and hands it spec.
func startChild(ctx context.Context, launch Launcher, spec ChildSpec) (*childProc, error) {
	cmd := launch(ctx)
	c := &childProc{cmd: cmd, stderr: &tailBuffer{}}
	cmd.Stderr = c.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: child stdin: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: child stdout: %w", err)
	}
	c.in, c.out = in, bufio.NewReader(out)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start child %s: %w", cmd.Path, err)
	}
	var ack childStats
	if err := c.call(spec, &ack); err != nil {
		return nil, errors.Join(err, c.Close())
	}
	if ack.Error != "" {
		return nil, errors.Join(fmt.Errorf("bench: child: %s", ack.Error), c.Close())
	}
	return c, nil
}

// Pid is the child's process id.
func (c *childProc) Pid() int { return c.cmd.Process.Pid }

// Stats asks the child for its counts.
func (c *childProc) Stats() (childStats, error) {
	var st childStats
	return st, c.call("stats", &st)
}

// call sends req (a string as a bare line, anything else as JSON) and
// decodes one reply line into resp.
func (c *childProc) call(req any, resp *childStats) error {
	line, ok := req.(string)
	if !ok {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("bench: child request: %w", err)
		}
		line = string(b)
	}
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		return fmt.Errorf("bench: write to child: %w%s", err, c.stderr.suffix())
	}
	reply, err := c.out.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("bench: read from child: %w%s", err, c.stderr.suffix())
	}
	if err := json.Unmarshal(reply, resp); err != nil {
		return fmt.Errorf("bench: child reply %q: %w", reply, err)
	}
	return nil
}

// Close ends the protocol (EOF on the child's stdin) and waits for the
// child, killing it after childExitWait. Idempotent.
func (c *childProc) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	_ = c.in.Close()
	kill := time.AfterFunc(childExitWait, func() { _ = c.cmd.Process.Kill() })
	defer kill.Stop()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("bench: child: %w%s", err, c.stderr.suffix())
	}
	return nil
}

// tailBuffer keeps the last 4 KiB written to it (a child's stderr, copied
// by os/exec's goroutine).
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

const tailMax = 4 << 10

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > tailMax {
		t.b = t.b[len(t.b)-tailMax:]
	}
	return len(p), nil
}

// suffix is "; child stderr: …" when the child wrote anything.
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) == 0 {
		return ""
	}
	return "; child stderr: " + string(t.b)
}
