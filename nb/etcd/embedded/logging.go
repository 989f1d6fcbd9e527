package embedded

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"go.uber.org/zap/zapcore"

	"github.com/dragonflow-go/dragonflow/internal/zapslog"
)

// benignWarnings are etcd warnings that this setup makes on purpose.
var benignWarnings = []string{
	// We serve gRPC and HTTP (health, version) on one listener.
	"Running http and grpc server on single port",
	// Auth is off, so no token is ever issued.
	"simple token is not cryptographically signed",
}

// shutdownNoise are the errors etcd's serving goroutines return when Close
// stops them, which etcd logs at warn and error level (etcd-io/etcd#17424).
// Matched by message where the error value is not importable.
var shutdownNoise = []string{
	"mux: server closed",
	"mux: listener closed",
	"grpc: the server has been stopped",
	// Background requests (publishing the member, setting the cluster
	// version) cut short by a Close right after the start.
	"etcdserver: request cancelled",
	"etcdserver: server stopped",
}

// traceLevel is below slog.LevelDebug: etcd's own debug lines (bbolt logs
// every transaction) are hidden even from a debug-level handler.
const traceLevel = slog.LevelDebug - 4

// level is the zapslog.LevelFunc of the server's logger: etcd's levels move
// one step down for info and debug (a start alone makes dozens of info
// lines, bbolt logs every transaction at debug); known benign warnings go to
// debug, and so do, once stopping, the warnings and errors carrying a
// shutdown error; everything else keeps its level.
func (s *Server) level(e zapcore.Entry, fields []zapcore.Field) slog.Level {
	switch {
	case e.Level <= zapcore.DebugLevel:
		return traceLevel
	case e.Level == zapcore.InfoLevel:
		return slog.LevelDebug
	case e.Level == zapcore.WarnLevel && containsAny(e.Message, benignWarnings):
		return slog.LevelDebug
	case e.Level >= zapcore.WarnLevel && s.stopping.Load() && isShutdownNoise(fields):
		return slog.LevelDebug
	}
	return zapslog.Level(e.Level)
}

// isShutdownNoise reports whether the entry's error field is one a normal
// shutdown produces.
func isShutdownNoise(fields []zapcore.Field) bool {
	for _, f := range fields {
		if f.Type != zapcore.ErrorType {
			continue
		}
		err, _ := f.Interface.(error)
		if err == nil {
			continue
		}
		if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) ||
			containsAny(err.Error(), shutdownNoise) {
			return true
		}
	}
	return false
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
