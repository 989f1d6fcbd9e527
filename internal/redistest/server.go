// Package redistest starts real redis-server processes for the tests of the
// Redis drivers (nb/redis, pubsub/redis): standalone servers on a free
// loopback port or a unix socket, and Redis Clusters of several masters.
//
// Servers run with no persistence (--save "" --appendonly no), bound to
// 127.0.0.1 only, with their directory (log, cluster config) in a temporary
// directory. They are started with Pdeathsig, so a test binary that dies
// does not leave them behind, and without any goroutine (no output pipes,
// no exec.CommandContext), so a server shared by a whole package (see
// Shared) does not trip goleak.
//
// A missing redis-server binary fails the test (never skips): install it
// with `apt-get install redis-server`, or point REDIS_SERVER at it.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// StartTimeout bounds how long a server may take to answer PING.
const StartTimeout = 10 * time.Second

// Binary returns the path of redis-server: $REDIS_SERVER, else redis-server
// on $PATH, else /usr/bin/redis-server. It fails the test when there is
// none: these tests never skip (under CI=true or not).
func Binary(tb testing.TB) string {
	tb.Helper()
	bin, err := findBinary()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	return bin
}

func findBinary() (string, error) {
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("REDIS_SERVER=%s: %w", p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	const debian = "/usr/bin/redis-server"
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	ci := ""
	if os.Getenv("CI") == "true" {
		ci = " (CI=true: a missing server is a failure)"
	}
	return "", fmt.Errorf("redis-server not found%s: install it (apt-get install redis-server) or set REDIS_SERVER", ci)
}

// Config says how to start one server.
type Config struct {
	// Dir holds the server's log and cluster config; required.
	Dir string
	// Port is the TCP port; 0 picks a free one (with its cluster bus port
	// free too when Cluster is set).
	Port int
	// Socket, when set, is a unix socket path the server listens on as
	// well (at most 107 bytes).
	Socket string
	// Cluster starts a cluster-enabled node (config file Dir/nodes.conf).
	Cluster bool
	// Args are extra redis-server arguments ("--name", "value", ...).
	Args []string
}

// Server is one running redis-server.
type Server struct {
	bin string
	cfg Config

	mu     sync.Mutex
	cmd    *exec.Cmd
	reaped bool // the process has been waited for
}

// Start starts a server for the test on a free loopback port (and, with
// socket true, also on a unix socket in t.TempDir()) and stops it at
// cleanup.
func Start(tb testing.TB, socket bool) *Server {
	tb.Helper()
	dir := tb.TempDir()
	cfg := Config{Dir: dir}
	if socket {
		cfg.Socket = filepath.Join(dir, "redis.sock")
	}
	s, err := StartConfig(Binary(tb), cfg)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Errorf("redistest: stop %s: %v", s.Addr(), err)
		}
	})
	return s
}

// StartConfig starts a server with cfg and waits until it answers PING.
// With cfg.Port 0 it retries on another free port when the one it picked
// was taken meanwhile.
func StartConfig(bin string, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("redistest: Config.Dir is required")
	}
	if len(cfg.Socket) > 107 {
		return nil, fmt.Errorf("redistest: socket path too long (%d > 107 bytes): %s", len(cfg.Socket), cfg.Socket)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		c := cfg
		if c.Port == 0 {
			port, err := FreePort(c.Cluster)
			if err != nil {
				return nil, err
			}
			c.Port = port
		}
		s := &Server{bin: bin, cfg: c}
		err := s.start()
		if err == nil {
			return s, nil
		}
		lastErr = err
		if cfg.Port != 0 || !errors.Is(err, errAddrInUse) {
			break
		}
	}
	return nil, lastErr
}

var errAddrInUse = errors.New("address already in use")

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.Port)) }

// Port is the server's TCP port.
func (s *Server) Port() int { return s.cfg.Port }

// Socket is the server's unix socket path ("" if none).
func (s *Server) Socket() string { return s.cfg.Socket }

// SocketURL is "unix://" + Socket() (the form [df] remote_db_hosts takes).
func (s *Server) SocketURL() string { return "unix://" + s.cfg.Socket }

func (s *Server) args() []string {
	c := s.cfg
	args := []string{
		"--port", strconv.Itoa(c.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", c.Dir,
		"--logfile", s.logPath(),
		"--daemonize", "no",
		"--databases", "1",
	}
	if c.Socket != "" {
		args = append(args, "--unixsocket", c.Socket, "--unixsocketperm", "700")
	}
	if c.Cluster {
		args = append(args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(c.Dir, "nodes.conf"),
			"--cluster-node-timeout", "3000",
			"--cluster-require-full-coverage", "no",
		)
	}
	return append(args, c.Args...)
}

func (s *Server) logPath() string { return filepath.Join(s.cfg.Dir, "redis.log") }

// start runs the process and waits for PING; on failure the process is gone.
func (s *Server) start() error {
	cmd := exec.Command(s.bin, s.args()...)
	cmd.Dir = s.cfg.Dir
	// No pipes: exec starts no copying goroutine. Pdeathsig: the server
	// dies with the test binary.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.bin, err)
	}
	s.mu.Lock()
	s.cmd, s.reaped = cmd, false
	s.mu.Unlock()

	deadline := time.Now().Add(StartTimeout)
	for {
		if exited, status := s.poll(); exited {
			log := s.logTail()
			err := fmt.Errorf("redistest: redis-server on port %d exited at start (%s): %s", s.cfg.Port, status, log)
			if strings.Contains(log, "Address already in use") {
				err = fmt.Errorf("%w (%w)", err, errAddrInUse)
			}
			return err
		}
		if ping(s.Addr(), 200*time.Millisecond) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = s.Stop()
			return fmt.Errorf("redistest: redis-server on port %d did not answer PING within %v: %s", s.cfg.Port, StartTimeout, s.logTail())
		}
		time.Sleep(10 * time.Millisecond) // polling a condition: the server answering
	}
}

// poll reports whether the process has exited (and reaps it), without
// blocking.
func (s *Server) poll() (bool, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reaped {
		return true, "already stopped"
	}
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(s.cmd.Process.Pid, &ws, syscall.WNOHANG, nil)
	if err != nil || pid == 0 {
		return false, ""
	}
	s.reaped = true
	_ = s.cmd.Process.Release()
	return true, fmt.Sprintf("status %d", ws.ExitStatus())
}

// Stop kills the server (SIGKILL: nothing to save) and waits for it.
// Idempotent.
func (s *Server) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.reaped {
		return nil
	}
	s.reaped = true
	if err := s.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("redistest: kill: %w", err)
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(s.cmd.Process.Pid, &ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	_ = s.cmd.Process.Release()
	return nil
}

// Restart stops the server and starts it again on the same port and
// socket, with its data lost (no persistence).
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.start()
}

// logTail returns the last lines of the server's log.
func (s *Server) logTail() string {
	f, err := os.Open(s.logPath())
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > 10 {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// ping sends PING over a raw connection and expects +PONG.
func ping(addr string, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// FreePort returns a loopback TCP port that is free now; with bus, port +
// 10000 (the cluster bus port) is free too.
func FreePort(bus bool) (int, error) {
	if !bus {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: free port: %w", err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	for attempt := 0; attempt < 100; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("redistest: free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		b, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		l.Close()
		if err != nil {
			continue
		}
		b.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port pair (port, port+10000) found")
}
