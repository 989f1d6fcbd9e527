package zapslog_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/dragonflow-go/dragonflow/internal/zapslog"
	"github.com/dragonflow-go/dragonflow/internal/zapslog/zapslogtest"
)

func TestLevels(t *testing.T) {
	for zl, want := range map[zapcore.Level]slog.Level{
		zapcore.DebugLevel:  slog.LevelDebug,
		zapcore.InfoLevel:   slog.LevelInfo,
		zapcore.WarnLevel:   slog.LevelWarn,
		zapcore.ErrorLevel:  slog.LevelError,
		zapcore.DPanicLevel: slog.LevelError,
		zapcore.FatalLevel:  slog.LevelError,
	} {
		assert.Equal(t, want, zapslog.Level(zl), zl.String())
	}
}

func TestForwardsAtSameLevelWithFields(t *testing.T) {
	rec := zapslogtest.NewRecorder(slog.LevelInfo)
	boom := errors.New("boom")
	lg := zapslog.New(rec.Logger()).Named("etcd-client").With(zap.String("member", "m1"))

	lg.Debug("hidden")
	lg.Info("hello", zap.Int("n", 3), zap.Strings("eps", []string{"a", "b"}))
	lg.Warn("careful", zap.Namespace("ns"), zap.Bool("inner", true))
	lg.Error("failed", zap.Error(boom))

	got := rec.Entries()
	require.Len(t, got, 3, "%v", got)
	assert.Equal(t, slog.LevelInfo, got[0].Level)
	assert.Equal(t, "hello", got[0].Message)
	assert.Equal(t, map[string]any{
		"member": "m1", "logger": "etcd-client", "n": int64(3), "eps": []any{"a", "b"},
	}, got[0].Attrs)
	assert.Equal(t, slog.LevelWarn, got[1].Level)
	assert.Equal(t, true, got[1].Attrs["ns.inner"])
	assert.Equal(t, slog.LevelError, got[2].Level)
	assert.ErrorIs(t, got[2].Attrs["error"].(error), boom, "error fields stay errors")
}

func TestWithNamespaceGroupsLaterFields(t *testing.T) {
	rec := zapslogtest.NewRecorder(slog.LevelInfo)
	zapslog.New(rec.Logger()).With(zap.String("a", "1"), zap.Namespace("g"), zap.String("b", "2")).
		Info("m", zap.String("c", "3"))
	got := rec.Entries()
	require.Len(t, got, 1)
	assert.Equal(t, map[string]any{"a": "1", "g.b": "2", "g.c": "3"}, got[0].Attrs)
}

func TestLevelFuncDemotes(t *testing.T) {
	rec := zapslogtest.NewRecorder(slog.LevelInfo)
	demote := func(e zapcore.Entry, fields []zapcore.Field) slog.Level {
		if e.Message == "noise" {
			return slog.LevelDebug
		}
		return zapslog.Level(e.Level)
	}
	lg := zapslog.New(rec.Logger(), zapslog.WithLevelFunc(demote))
	lg.Error("noise")
	lg.Error("signal")
	got := rec.Entries()
	require.Len(t, got, 1)
	assert.Equal(t, "signal", got[0].Message)
}

func TestNilLoggerIsNop(t *testing.T) {
	lg := zapslog.New(nil)
	assert.False(t, lg.Core().Enabled(zapcore.FatalLevel))
	lg.Error("dropped")
	assert.NoError(t, lg.Sync())
}
