// Package zapslogtest has a recording slog.Handler for tests of code that
// logs through slog (directly or bridged from zap by zapslog).
package zapslogtest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Entry is one recorded log line; Attrs are flattened, groups joined by ".".
type Entry struct {
	Level   slog.Level
	Message string
	Attrs   map[string]any
}

func (e Entry) String() string { return fmt.Sprintf("%s %q %v", e.Level, e.Message, e.Attrs) }

// Recorder is a slog.Handler that keeps every enabled record. It is safe for
// concurrent use; handlers derived with WithAttrs/WithGroup share its log.
type Recorder struct {
	level  slog.Leveler
	shared *log
	attrs  []slog.Attr
	group  string
}

type log struct {
	mu      sync.Mutex
	entries []Entry
}

// NewRecorder records records at level and above (nil: slog.LevelInfo).
func NewRecorder(level slog.Leveler) *Recorder {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Recorder{level: level, shared: &log{}}
}

// Logger returns a slog.Logger writing to r.
func (r *Recorder) Logger() *slog.Logger { return slog.New(r) }

// Entries returns a copy of what was recorded so far.
func (r *Recorder) Entries() []Entry {
	r.shared.mu.Lock()
	defer r.shared.mu.Unlock()
	return append([]Entry(nil), r.shared.entries...)
}

// AtLeast returns the recorded entries at level or above.
func (r *Recorder) AtLeast(level slog.Level) []Entry {
	var out []Entry
	for _, e := range r.Entries() {
		if e.Level >= level {
			out = append(out, e)
		}
	}
	return out
}

// Enabled implements slog.Handler.
func (r *Recorder) Enabled(_ context.Context, l slog.Level) bool { return l >= r.level.Level() }

// Handle implements slog.Handler.
func (r *Recorder) Handle(_ context.Context, rec slog.Record) error {
	e := Entry{Level: rec.Level, Message: rec.Message, Attrs: map[string]any{}}
	for _, a := range r.attrs {
		flatten(e.Attrs, "", a)
	}
	rec.Attrs(func(a slog.Attr) bool {
		flatten(e.Attrs, r.group, a)
		return true
	})
	r.shared.mu.Lock()
	r.shared.entries = append(r.shared.entries, e)
	r.shared.mu.Unlock()
	return nil
}

// WithAttrs implements slog.Handler.
func (r *Recorder) WithAttrs(as []slog.Attr) slog.Handler {
	c := *r
	c.attrs = append([]slog.Attr(nil), r.attrs...)
	for _, a := range as {
		c.attrs = append(c.attrs, slog.Attr{Key: join(r.group, a.Key), Value: a.Value})
	}
	return &c
}

// WithGroup implements slog.Handler.
func (r *Recorder) WithGroup(name string) slog.Handler {
	c := *r
	c.group = join(r.group, name)
	return &c
}

func flatten(into map[string]any, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			flatten(into, join(prefix, a.Key), g)
		}
		return
	}
	into[join(prefix, a.Key)] = v.Any()
}

func join(prefix, key string) string {
	return strings.TrimPrefix(prefix+"."+key, ".")
}
