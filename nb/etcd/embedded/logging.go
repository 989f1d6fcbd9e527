package embedded

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

	"go.uber.org/zap/zapcore"

	"github.com/dragonflow-go/dragonflow/internal/zapslog"
)

// benign are etcd warnings and errors that are expected here, matched in
// the message or the error.
var benign = []string{
	// We serve gRPC and HTTP (health, version) on one listener.
	"Running http and grpc server on single port",
	// Auth is off, so no token is ever issued.
	"simple token is not cryptographically signed",
	// A fresh member may try to record its storage version before the
	// backend has committed the raft term (etcd-io/etcd#18978); it retries
	// a few seconds later.
	"missing term information",
	"missing confstate information",
	// Raft's first election of a fresh member came before the member was
	// added; the next one succeeds.
	"since there are still pending configuration changes to apply",
	// Requests that fail for the client's reasons, which the client gets
	// as its error ("failed to apply request"): a gone lease, compaction
	// at a wrong revision.
	"lease not found",
	"required revision is a future revision",
	"required revision has been compacted",
}

// shutdownNoise are the errors etcd's serving goroutines return when Close
// stops them, which etcd logs at warn and error level (etcd-io/etcd#17424).
var shutdownNoise = []string{
	http.ErrServerClosed.Error(),
	net.ErrClosed.Error(),
	"mux: server closed",
	"mux: listener closed",
	"grpc: the server has been stopped",
	// Background requests (publishing the member, setting the cluster
	// version) cut short by a Close right after the start.
	"etcdserver: request cancelled",
	"etcdserver: server stopped",
	"context canceled",
}

// traceLevel is below slog.LevelDebug: etcd's own debug lines (bbolt logs
// every transaction) are hidden even from a debug-level handler.
const traceLevel = slog.LevelDebug - 4

// level is the zapslog.LevelFunc of the server's logger: etcd's levels move
// one step down for info and debug (a start alone makes dozens of info
// lines, bbolt logs every transaction at debug); known benign lines go to
// debug, and so do, once stopping, the lines carrying a shutdown error;
// everything else keeps its level.
func (s *Server) level(e zapcore.Entry, fields []zapcore.Field) slog.Level {
	switch {
	case e.Level <= zapcore.DebugLevel:
		return traceLevel
	case e.Level == zapcore.InfoLevel:
		return slog.LevelDebug
	case containsAny(e.Message, benign) || errorMatches(fields, benign):
		return slog.LevelDebug
	case s.stopping.Load() && errorMatches(fields, shutdownNoise):
		return slog.LevelDebug
	}
	return zapslog.Level(e.Level)
}

// errorMatches reports whether the text of an error field contains one of
// subs.
func errorMatches(fields []zapcore.Field, subs []string) bool {
	for _, f := range fields {
		if err, ok := f.Interface.(error); ok && f.Type == zapcore.ErrorType && containsAny(err.Error(), subs) {
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
