package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/controller"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// HistoryLine is one line of --history-file: a JSON object whose kind is
// "start" (the process started: pid), "event" (a delivered event and its
// outcome, controller.EventRecord), "gap" (a loss the subscriber reported,
// pubsub.Gap) or "resync" (a finished resync of a topic,
// controller.ResyncReport). T is the wall-clock time the line was written,
// RFC 3339 with nanoseconds. Fields that do not apply to a kind are
// omitted.
type HistoryLine struct {
	T    time.Time `json:"t"`
	Kind string    `json:"kind"`
	PID  int       `json:"pid,omitempty"`
	Host string    `json:"host,omitempty"`

	// event and gap
	Pub   string `json:"pub,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
	Seq   uint64 `json:"seq,omitempty"`
	Topic string `json:"topic,omitempty"`
	// event
	Table   string `json:"table,omitempty"`
	Key     string `json:"key,omitempty"`
	Action  string `json:"action,omitempty"`
	Version int64  `json:"version,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	// gap (Reason also for resync)
	Reason   string `json:"reason,omitempty"`
	Expected uint64 `json:"expected,omitempty"`
	Got      uint64 `json:"got,omitempty"`
	Lost     uint64 `json:"lost,omitempty"`
	// gap and resync
	Err string `json:"err,omitempty"`
	// resync
	Skipped   bool  `json:"skipped,omitempty"`
	Added     int   `json:"added,omitempty"`
	Updated   int   `json:"updated,omitempty"`
	Deleted   int   `json:"deleted,omitempty"`
	Kept      int   `json:"kept,omitempty"`
	TookNS    int64 `json:"took_ns,omitempty"`
	DelayedNS int64 `json:"delayed_ns,omitempty"`
	WaitedNS  int64 `json:"waited_ns,omitempty"`
}

// history appends HistoryLines to a file. Each line is one write(2) on an
// unbuffered file, so once a hook returns its line is in the kernel: a
// SIGKILL loses at most a line being written at that moment. Safe for
// concurrent use (the hooks run on the delivery and resync goroutines).
type history struct {
	mu     sync.Mutex
	f      *os.File
	buf    []byte
	failed bool
	warn   func(error)
}

// openHistory opens path for appending (a restarted controller continues
// the same file after a "start" line).
func openHistory(path, host string, warn func(error)) (*history, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--history-file: %w", err)
	}
	h := &history{f: f, warn: warn}
	h.write(HistoryLine{Kind: "start", PID: os.Getpid(), Host: host})
	return h, nil
}

func (h *history) write(l HistoryLine) {
	l.T = time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed {
		return
	}
	b, err := json.Marshal(l)
	if err == nil {
		h.buf = append(append(h.buf[:0], b...), '\n')
		_, err = h.f.Write(h.buf)
	}
	if err != nil {
		h.failed = true // said once; the controller keeps running
		h.warn(fmt.Errorf("--history-file: %w; no more history is written", err))
	}
}

func (h *history) onEvent(r controller.EventRecord) {
	h.write(HistoryLine{Kind: "event", Pub: r.PublisherID, Epoch: r.Epoch, Seq: r.Seq, Topic: r.Topic,
		Table: r.Table, Key: r.Key, Action: r.Action, Version: r.Version, Outcome: string(r.Outcome)})
}

func (h *history) onGap(g pubsub.Gap) {
	l := HistoryLine{Kind: "gap", Reason: string(g.Reason), Pub: g.PublisherID, Topic: g.Topic,
		Expected: g.Expected, Got: g.Got, Lost: g.Lost}
	if g.Err != nil {
		l.Err = g.Err.Error()
	}
	h.write(l)
}

func (h *history) onResync(r controller.ResyncReport) {
	l := HistoryLine{Kind: "resync", Topic: r.Topic, Reason: r.Reason, Skipped: r.Skipped,
		Added: r.Result.Added, Updated: r.Result.Updated, Deleted: r.Result.Deleted, Kept: r.Result.Kept,
		TookNS: int64(r.Duration), DelayedNS: int64(r.Delayed), WaitedNS: int64(r.Waited)}
	if r.Err != nil {
		l.Err = r.Err.Error()
	}
	h.write(l)
}

func (h *history) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.f.Close()
}
