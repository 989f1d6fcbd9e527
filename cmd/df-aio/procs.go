package main

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

// child is one daemon df-aio runs. Its goroutine (started by start) waits for
// the process and closes exited; stop ends it.
type child struct {
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
func (c *child) start() error {
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
func (c *child) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil || c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// done is closed when the process has exited.
func (c *child) done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exited
}

// exitError says how the process ended ("" while it runs).
func (c *child) exitError() (string, bool) {
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
func (c *child) wasStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopping
}

// stop sends SIGTERM and waits up to grace, then SIGKILL; it returns once the
// process has exited. Safe to call on an exited or never started child.
func (c *child) stop(grace time.Duration) error {
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
func (c *child) logTail(n int) string {
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
func stopAll(children []*child, grace time.Duration) error {
	var errs []error
	for i := len(children) - 1; i >= 0; i-- {
		errs = append(errs, children[i].stop(grace))
	}
	return errors.Join(errs...)
}
