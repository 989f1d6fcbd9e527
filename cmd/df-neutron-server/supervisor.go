package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/dragonflow-go/dragonflow/neutron"
)

// Worker process management.
const (
	// stopTimeout is how long a worker has to stop after SIGTERM before it
	// is killed.
	stopTimeout = 10 * time.Second
	// restartMin and restartMax bound the backoff between restarts of a
	// crashing worker; a worker that ran stableAfter resets it.
	restartMin  = 100 * time.Millisecond
	restartMax  = 10 * time.Second
	stableAfter = 30 * time.Second
)

// workerReport is what a worker writes on its report pipe (fd 4), one JSON
// line per report: at start (it is ready), every reportInterval, and when it
// stops. API counters are cumulative since the worker started.
type workerReport struct {
	PID int                 `json:"pid"`
	API neutron.APISnapshot `json:"api"`
}

// workerStatus is one worker slot in /status.
type workerStatus struct {
	Slot     int  `json:"slot"`
	PID      int  `json:"pid"`
	Ready    bool `json:"ready"`
	Restarts int  `json:"restarts"`
}

type slot struct {
	workerStatus
	last neutron.APISnapshot
}

// supervisor keeps n worker processes running, each started as
// `exe args... --worker=<slot>` with the API listening socket as fd 3 and
// its report pipe as fd 4. One goroutine per slot starts the worker,
// waits for it, and restarts it with jittered backoff when it exits.
// Close stops the workers (SIGTERM, then SIGKILL after stopTimeout) and
// waits for them and the goroutines.
type supervisor struct {
	exe    string
	args   []string
	ln     *os.File
	stderr io.Writer
	log    *slog.Logger

	mu     sync.Mutex
	slots  []*slot
	base   neutron.APISnapshot // counters of workers that exited
	readyc chan struct{}
	ready  bool

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

func startSupervisor(ctx context.Context, exe string, args []string, ln *os.File, n int, stderr io.Writer, log *slog.Logger) *supervisor {
	ctx, cancel := context.WithCancel(ctx)
	s := &supervisor{exe: exe, args: args, ln: ln, stderr: stderr, log: log, readyc: make(chan struct{}), cancel: cancel}
	for i := 1; i <= n; i++ {
		sl := &slot{workerStatus: workerStatus{Slot: i}}
		s.slots = append(s.slots, sl)
		s.wg.Add(1)
		go s.keep(ctx, sl)
	}
	return s
}

// Ready is closed once every worker has reported ready for the first time.
func (s *supervisor) Ready() <-chan struct{} { return s.readyc }

// Snapshot sums the API counters of every worker, alive or gone. A worker
// killed without stopping loses what it counted since its last report.
func (s *supervisor) Snapshot() neutron.APISnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := s.base
	for _, sl := range s.slots {
		sum = sum.Add(sl.last)
	}
	return sum
}

// Workers describes the slots.
func (s *supervisor) Workers() []workerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]workerStatus, 0, len(s.slots))
	for _, sl := range s.slots {
		out = append(out, sl.workerStatus)
	}
	return out
}

// Close stops every worker and waits. Idempotent.
func (s *supervisor) Close() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
}

// keep runs one slot until ctx ends. It holds its OS thread: Pdeathsig
// is tied to the thread that started the child, which must then not exit
// while the child should live.
func (s *supervisor) keep(ctx context.Context, sl *slot) {
	defer s.wg.Done()
	runtime.LockOSThread()
	failures := 0
	for {
		started := time.Now()
		pid, err := s.runOnce(ctx, sl)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > stableAfter {
			failures = 0
		}
		failures++
		d := min(restartMin<<min(failures-1, 10), restartMax)
		d = d/2 + rand.N(d/2+1)
		s.mu.Lock()
		sl.Restarts++
		s.mu.Unlock()
		s.log.Error("worker exited; restarting", "worker", sl.Slot, "pid", pid, "err", err, "restart_in", d)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// runOnce starts the worker of sl and returns when it has exited, stopping
// it when ctx ends.
func (s *supervisor) runOnce(ctx context.Context, sl *slot) (int, error) {
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, fmt.Errorf("report pipe: %w", err)
	}
	cmd := exec.Command(s.exe, append(append([]string(nil), s.args...), fmt.Sprintf("--%s=%d", workerFlag, sl.Slot))...)
	cmd.ExtraFiles = []*os.File{s.ln, pw}
	cmd.Stderr = s.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	err = cmd.Start()
	_ = pw.Close()
	if err != nil {
		_ = pr.Close()
		return 0, fmt.Errorf("start worker %d: %w", sl.Slot, err)
	}
	pid := cmd.Process.Pid
	s.mu.Lock()
	sl.PID = pid
	s.mu.Unlock()
	s.log.Info("worker started", "worker", sl.Slot, "pid", pid)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.readReports(sl, pr)
	}()
	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	select {
	case err = <-waitc:
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		t := time.NewTimer(stopTimeout)
		select {
		case err = <-waitc:
		case <-t.C:
			s.log.Warn("worker did not stop in time; killing it", "worker", sl.Slot, "pid", pid)
			_ = cmd.Process.Kill()
			err = <-waitc
		}
		t.Stop()
	}
	<-readDone
	s.mu.Lock()
	s.base = s.base.Add(sl.last)
	sl.last, sl.PID, sl.Ready = neutron.APISnapshot{}, 0, false
	s.mu.Unlock()
	if err == nil {
		err = fmt.Errorf("worker %d exited", sl.Slot)
	}
	return pid, err
}

// readReports reads the worker's reports until its end of the pipe closes.
func (s *supervisor) readReports(sl *slot, r io.ReadCloser) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var rep workerReport
		if err := json.Unmarshal(sc.Bytes(), &rep); err != nil {
			s.log.Warn("undecodable worker report", "worker", sl.Slot, "err", err)
			continue
		}
		s.mu.Lock()
		sl.last = rep.API
		sl.Ready = true
		s.checkReadyLocked()
		s.mu.Unlock()
	}
}

func (s *supervisor) checkReadyLocked() {
	if s.ready {
		return
	}
	for _, sl := range s.slots {
		if !sl.Ready {
			return
		}
	}
	s.ready = true
	close(s.readyc)
}
