package aio

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one daemon (or broker) the all-in-one runs. Its goroutine (started by start) waits for
// the process and closes exited; stop ends it.
type Process struct {
	name    string // unique in the all-in-one: "publisher-service", "neutron-server", "compute-2"
	role    string
	host    string // [DEFAULT] host of the process
	bin     string
	args    []string
	logPath string
	admin   string // host:port of its admin endpoint

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	stopping bool
}

// start launches the process with its output in logPath. The process gets
// SIGTERM if df-aio dies without stopping it (Pdeathsig), and its own
// process group, so a Ctrl-C on the terminal reaches df-aio only and df-aio
// stops the children in order.
func (c *Process) start() error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%s: log file: %w", c.name, err)
	}
	cmd := exec.Command(c.bin, c.args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s (%s): %w", c.name, c.bin, err)
	}
	c.mu.Lock()
	c.cmd, c.exited, c.exitErr, c.stopping = cmd, make(chan struct{}), nil, false
	exited := c.exited
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		close(exited)
	}()
	return nil
}

// pid is the process id, 0 before start.
func (c *Process) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// done is closed when the process has exited.
func (c *Process) done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exited
}

// exitError says how the process ended ("" while it runs).
func (c *Process) exitError() (string, bool) {
	select {
	case <-c.done():
	default:
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exitErr == nil {
		return "exit status 0", true
	}
	return c.exitErr.Error(), true
}

// stopped reports whether df-aio asked the process to stop.
func (c *Process) wasStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping
}

// stop sends SIGTERM and waits up to grace, then SIGKILL; it returns once the
// process has exited. Safe to call on an exited or never started child.
func (c *Process) stop(grace time.Duration) error {
	c.mu.Lock()
	cmd, exited := c.cmd, c.exited
	c.stopping = true
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return nil
	case <-time.After(grace):
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its group: workers too
	_ = cmd.Process.Kill()
	<-exited
	return fmt.Errorf("%s did not stop within %s after SIGTERM: killed", c.name, grace)
}

// logTail is the last n lines of the child's log, for error messages.
func (c *Process) logTail(n int) string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.ReplaceAll(string(bytes.Join(lines, []byte("\n"))), "\n", "\n    ")
}

// stopAll stops children in reverse start order.
func stopAll(children []*Process, grace time.Duration) error {
	var errs []error
	for i := len(children) - 1; i >= 0; i-- {
		errs = append(errs, children[i].stop(grace))
	}
	return errors.Join(errs...)
}

// Name is the process's name in the all-in-one ("compute-2").
func (c *Process) Name() string { return c.name }

// Role is its role ("local-controller", "neutron-server",
// "publisher-service", "broker").
func (c *Process) Role() string { return c.role }

// Host is its [DEFAULT] host.
func (c *Process) Host() string { return c.host }

// Admin is the host:port of its admin endpoint.
func (c *Process) Admin() string { return c.admin }

// LogPath is where its stdout and stderr go.
func (c *Process) LogPath() string { return c.logPath }

// PID is its process id (0 before start).
func (c *Process) PID() int { return c.pid() }

// Exited is closed when the process has exited.
func (c *Process) Exited() <-chan struct{} { return c.done() }

// Signal sends sig to the process (e.g. SIGKILL for a crash test).
func (c *Process) Signal(sig syscall.Signal) error {
	pid := c.pid()
	if pid == 0 {
		return fmt.Errorf("%s: not started", c.name)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("%s: kill %d: %w", c.name, pid, err)
	}
	return nil
}

// Stop stops the process (SIGTERM, then SIGKILL after the grace period).
func (c *Process) Stop() error { return c.stop(stopGrace) }

// Restart starts the process again with the same arguments once it has
// exited (after Stop or a Signal). It returns an error while it still runs.
func (c *Process) Restart() error {
	select {
	case <-c.done():
	default:
		return fmt.Errorf("%s: still running", c.name)
	}
	return c.start()
}
