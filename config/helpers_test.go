package config

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// logRec is one captured log record with its attributes as strings.
type logRec struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// logRecorder is a slog.Handler that keeps every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []logRec
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := logRec{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = fmt.Sprint(a.Value.Any())
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, rec)
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// records returns the captured records whose attributes include all of want.
func (h *logRecorder) records(want map[string]string) []logRec {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logRec
next:
	for _, r := range h.recs {
		for k, v := range want {
			if r.attrs[k] != v {
				continue next
			}
		}
		out = append(out, r)
	}
	return out
}

func (h *logRecorder) all() []logRec { return h.records(nil) }

func newRecorder() (*logRecorder, *slog.Logger) {
	h := &logRecorder{}
	return h, slog.New(h)
}

// writeFiles writes each content to its own file in a fresh temp dir and
// returns the paths in order.
func writeFiles(t *testing.T, contents ...string) []string {
	t.Helper()
	dir := t.TempDir()
	paths := make([]string, len(contents))
	for i, c := range contents {
		paths[i] = filepath.Join(dir, fmt.Sprintf("%d.ini", i))
		require.NoError(t, os.WriteFile(paths[i], []byte(c), 0o600))
	}
	return paths
}

// mustParse parses data with a recorder and fails the test on error.
func mustParse(t *testing.T, data string) (*Config, *logRecorder) {
	t.Helper()
	rec, log := newRecorder()
	cfg, err := Parse("test.ini", []byte(data), log)
	require.NoError(t, err)
	return cfg, rec
}
