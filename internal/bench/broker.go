package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// Broker is a server that a broker transport's publishers and subscribers
// connect through. The transport that started it stops it (Close); a
// broker never outlives the bench run, and one started as a process dies
// with the bench (Pdeathsig) if the bench is killed.
type Broker interface {
	// Hosts are the addresses clients connect to (PublisherConfig.Hosts,
	// SubscriberConfig.Hosts; for nats.go the server URL).
	Hosts() []string
	// Pid is the broker's process id; 0 when it runs inside this process.
	Pid() int
	// Close stops the broker and waits until it has (a process is reaped),
	// then removes its temporary directory. Idempotent.
	Close() error
}

// brokerStarter starts the broker of one kind on loopback.
type brokerStarter func(ctx context.Context, logger *slog.Logger) (Broker, error)

// brokers maps the registered broker drivers (and the nats.go peer) to the
// broker the bench starts for them.
var brokers = map[string]brokerStarter{
	"etcd":     startEtcd,
	"redis":    startRedis,
	"nats":     startNATS,
	NATSGoName: startNATS,
}

// brokerAbout describes, for the report, where each broker runs.
var brokerAbout = map[string]string{
	"etcd":     "embedded etcd (nb/etcd/embedded) inside the bench process, data dir in a temporary directory",
	"redis":    "redis-server process on a loopback port, --save \"\" --appendonly no",
	"nats":     "nats-server process on a loopback port",
	NATSGoName: "nats-server process on a loopback port",
}

// Timing of the brokers' start and stop.
const (
	brokerStartTimeout = 30 * time.Second
	// brokerStopWait is how long a broker process may take to exit after
	// SIGTERM before it is killed.
	brokerStopWait = 5 * time.Second
)

// etcdBroker is an embedded etcd (nb/etcd/embedded) on a free loopback
// port, its data directory in a temporary directory.
type etcdBroker struct {
	srv *embedded.Server
	dir string
}

func startEtcd(ctx context.Context, logger *slog.Logger) (Broker, error) {
	dir, err := os.MkdirTemp("", "dfbench-etcd-")
	if err != nil {
		return nil, fmt.Errorf("bench: etcd data dir: %w", err)
	}
	srv, err := embedded.Start(ctx, embedded.Config{
		DataDir:      filepath.Join(dir, "data"),
		ClientAddr:   "127.0.0.1:0",
		ReadyTimeout: brokerStartTimeout,
		Logger:       logger,
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("bench: start embedded etcd: %w", err), os.RemoveAll(dir))
	}
	return &etcdBroker{srv: srv, dir: dir}, nil
}

func (b *etcdBroker) Hosts() []string { return b.srv.Endpoints() }
func (b *etcdBroker) Pid() int        { return 0 }

func (b *etcdBroker) Close() error {
	err := b.srv.Close() // idempotent
	if rerr := os.RemoveAll(b.dir); rerr != nil {
		err = errors.Join(err, fmt.Errorf("bench: remove etcd data dir: %w", rerr))
	}
	return err
}

// procBroker is a broker server process (redis-server, nats-server) on a
// free loopback port, its working directory and log in a temporary
// directory. The process has no pipes (its output goes to the log file);
// one goroutine waits for it.
type procBroker struct {
	name  string
	hosts []string
	dir   string
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited and been reaped
	werr  error         // the wait result; set before done closes
	close chan struct{}
	err   error
}

// startRedis starts redis-server (no persistence) on a free loopback port.
func startRedis(ctx context.Context, _ *slog.Logger) (Broker, error) {
	return startProcBroker(ctx, "redis-server", "REDIS_SERVER", "/usr/bin/redis-server",
		func(port int, dir string) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
				"--dir", dir, "--logfile", filepath.Join(dir, "broker.log"), "--daemonize", "no", "--databases", "1"}
		},
		func(addr string) string { return addr })
}

// startNATS starts nats-server on a free loopback port.
func startNATS(ctx context.Context, _ *slog.Logger) (Broker, error) {
	return startProcBroker(ctx, "nats-server", "NATS_SERVER", "/usr/sbin/nats-server",
		func(port int, dir string) []string {
			return []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port), "-l", filepath.Join(dir, "broker.log")}
		},
		func(addr string) string { return "nats://" + addr })
}

// FindBrokerBinary returns the path of a broker server: $env, else name on
// $PATH, else the Debian path. Missing is an error (never a skip).
func FindBrokerBinary(name, env, debian string) (string, error) {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("bench: %s=%s: %w", env, p, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if _, err := os.Stat(debian); err == nil {
		return debian, nil
	}
	return "", fmt.Errorf("bench: %s not found on PATH nor at %s: install it (apt-get install %s) or set %s",
		name, debian, name, env)
}

// startProcBroker starts the server binary on a free port and waits until
// it accepts connections, retrying on another port when the one picked was
// taken meanwhile.
func startProcBroker(ctx context.Context, name, env, debian string, args func(port int, dir string) []string,
	host func(addr string) string) (Broker, error) {
	bin, err := FindBrokerBinary(name, env, debian)
	if err != nil {
		return nil, err
	}
	var errs []error
	for range 3 {
		b, err := tryProcBroker(ctx, name, bin, args, host)
		if err == nil {
			return b, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func tryProcBroker(ctx context.Context, name, bin string, args func(port int, dir string) []string,
	host func(addr string) string) (*procBroker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "dfbench-"+name+"-")
	if err != nil {
		return nil, fmt.Errorf("bench: %s dir: %w", name, err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, args(port, dir)...)
	cmd.Dir = dir
	// Pdeathsig: the broker dies with the bench, even when it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if f, err := os.Create(filepath.Join(dir, "stdout.log")); err == nil {
		cmd.Stdout, cmd.Stderr = f, f // *os.File: no copying goroutine
		defer f.Close()               // the child has its own descriptor
	}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("bench: start %s: %w", bin, err), os.RemoveAll(dir))
	}
	b := &procBroker{name: name, hosts: []string{host(addr)}, dir: dir, cmd: cmd,
		done: make(chan struct{}), close: make(chan struct{})}
	go func() {
		b.werr = cmd.Wait()
		close(b.done)
	}()
	deadline := time.Now().Add(brokerStartTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return b, nil
		}
		select {
		case <-b.done:
			return nil, errors.Join(fmt.Errorf("bench: %s on %s exited at start (%v): %s", name, addr, b.werr, b.logTail()),
				os.RemoveAll(dir))
		case <-ctx.Done():
			return nil, errors.Join(fmt.Errorf("bench: start %s: %w", name, ctx.Err()), b.Close())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("bench: %s does not accept connections on %s after %v: %s",
				name, addr, brokerStartTimeout, b.logTail()), b.Close())
		}
	}
}

func (b *procBroker) Hosts() []string { return b.hosts }
func (b *procBroker) Pid() int        { return b.cmd.Process.Pid }

// Close sends SIGTERM, kills the process after brokerStopWait, reaps it and
// removes its directory. Idempotent; not for concurrent use.
func (b *procBroker) Close() error {
	select {
	case <-b.close:
		return b.err
	default:
	}
	close(b.close)
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(brokerStopWait):
		_ = b.cmd.Process.Kill()
		<-b.done
		b.err = fmt.Errorf("bench: %s ignored SIGTERM for %v and was killed", b.name, brokerStopWait)
	}
	if err := os.RemoveAll(b.dir); err != nil {
		b.err = errors.Join(b.err, fmt.Errorf("bench: remove %s dir: %w", b.name, err))
	}
	return b.err
}

// logTail is the end of the broker's log, for errors.
func (b *procBroker) logTail() string {
	var out []string
	for _, f := range []string{"broker.log", "stdout.log"} {
		data, err := os.ReadFile(filepath.Join(b.dir, f))
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		out = append(out, lines[max(0, len(lines)-5):]...)
	}
	if len(out) == 0 {
		return "(no log)"
	}
	return strings.Join(out, "; ")
}

// freePort returns a loopback TCP port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("bench: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
