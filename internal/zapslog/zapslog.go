// Package zapslog bridges zap, which the etcd client and server log through,
// to log/slog, which dragonflow-go logs through. Entries are forwarded to a
// slog.Handler at the equivalent level, so etcd never writes to stderr on its
// own.
package zapslog

import (
	"context"
	"log/slog"
	"sort"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// LevelFunc chooses the slog level of an entry; it may only keep or lower
// the level Level(e.Level) (the entry has already passed the handler's level
// check at its own level). It is how callers demote known noise.
type LevelFunc func(e zapcore.Entry, fields []zapcore.Field) slog.Level

// Option configures New and NewCore.
type Option func(*core)

// WithLevelFunc sets the LevelFunc; the default is Level(e.Level).
func WithLevelFunc(f LevelFunc) Option { return func(c *core) { c.levelOf = f } }

// New returns a zap.Logger (with caller information, so handlers with
// AddSource point at the logging etcd line) that forwards to l. A nil l gives
// zap.NewNop().
func New(l *slog.Logger, opts ...Option) *zap.Logger {
	if l == nil {
		return zap.NewNop()
	}
	return zap.New(NewCore(l.Handler(), opts...), zap.AddCaller())
}

// NewCore returns a zapcore.Core that forwards every entry to h. The zap
// logger name, if any, becomes the "logger" attribute; zap.Namespace becomes
// a slog group; error fields stay error values.
func NewCore(h slog.Handler, opts ...Option) zapcore.Core {
	c := &core{h: h}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Level maps a zap level to the slog level of the same name; DPanic, Panic
// and Fatal map to slog.LevelError.
func Level(l zapcore.Level) slog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

type core struct {
	h       slog.Handler
	levelOf LevelFunc
}

var _ zapcore.Core = (*core)(nil)

func (c *core) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), Level(l))
}

func (c *core) With(fields []zapcore.Field) zapcore.Core {
	h := c.h
	for i, f := range fields {
		if f.Type == zapcore.NamespaceType {
			// Later fields, here and in each entry, belong to the namespace.
			h = h.WithAttrs(attrs(fields[:i])).WithGroup(f.Key)
			return (&core{h: h, levelOf: c.levelOf}).With(fields[i+1:])
		}
	}
	if len(fields) > 0 {
		h = h.WithAttrs(attrs(fields))
	}
	return &core{h: h, levelOf: c.levelOf}
}

func (c *core) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *core) Write(e zapcore.Entry, fields []zapcore.Field) error {
	lvl := Level(e.Level)
	if c.levelOf != nil {
		lvl = c.levelOf(e, fields)
	}
	ctx := context.Background()
	if !c.h.Enabled(ctx, lvl) {
		return nil
	}
	r := slog.NewRecord(e.Time, lvl, e.Message, e.Caller.PC)
	if e.LoggerName != "" {
		r.AddAttrs(slog.String("logger", e.LoggerName))
	}
	r.AddAttrs(attrs(fields)...)
	if e.Stack != "" {
		r.AddAttrs(slog.String("stack", e.Stack))
	}
	return c.h.Handle(ctx, r)
}

func (c *core) Sync() error { return nil }

// attrs converts zap fields to slog attributes, in order. A namespace field
// turns the fields after it into a group.
func attrs(fields []zapcore.Field) []slog.Attr {
	out := make([]slog.Attr, 0, len(fields))
	for i, f := range fields {
		switch f.Type {
		case zapcore.SkipType:
		case zapcore.NamespaceType:
			return append(out, slog.Attr{Key: f.Key, Value: slog.GroupValue(attrs(fields[i+1:])...)})
		case zapcore.ErrorType:
			out = append(out, slog.Any(f.Key, f.Interface))
		default:
			enc := zapcore.NewMapObjectEncoder()
			f.AddTo(enc)
			keys := make([]string, 0, len(enc.Fields))
			for k := range enc.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out = append(out, slog.Any(k, enc.Fields[k]))
			}
		}
	}
	return out
}
