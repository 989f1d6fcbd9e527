package etcd

import (
	"log/slog"

	"go.uber.org/zap/zapcore"

	"github.com/dragonflow-go/dragonflow/internal/zapslog"
)

// retryFailed is the warning the etcd client logs for every failed unary
// call, retried or not.
const retryFailed = "retrying of unary invoker failed"

// clientLevel is the zapslog.LevelFunc of the etcd client's logger. The
// client warns about every failed unary call, including those whose error
// the driver returns anyway (a revoked lease, a compacted revision, a
// canceled context, a Close in progress); those lines go to debug.
func clientLevel(e zapcore.Entry, _ []zapcore.Field) slog.Level {
	if e.Message == retryFailed {
		return slog.LevelDebug
	}
	return zapslog.Level(e.Level)
}
