package zmtp

import (
	"errors"
	"io"
	"net"
	"os"
)

// Errors. Every error of the package wraps one of them; compare with
// errors.Is, or label with Reason.
var (
	// ErrGreeting: the first bytes are not a ZMTP signature.
	ErrGreeting = errors.New("zmtp: bad greeting")
	// ErrVersion: the peer speaks a ZMTP version before 3.0.
	ErrVersion = errors.New("zmtp: unsupported protocol version")
	// ErrMechanism: the peer asks for a security mechanism other than NULL.
	ErrMechanism = errors.New("zmtp: unsupported security mechanism")
	// ErrFrameTooLarge: a frame is larger than the reader's limit.
	ErrFrameTooLarge = errors.New("zmtp: frame too large")
	// ErrFrameFlags: a frame header has reserved bits set.
	ErrFrameFlags = errors.New("zmtp: bad frame flags")
	// ErrCommand: a command frame is malformed.
	ErrCommand = errors.New("zmtp: malformed command")
	// ErrHandshake: the peer did not follow the NULL handshake.
	ErrHandshake = errors.New("zmtp: handshake failed")
	// ErrSocketType: the peer's socket type cannot talk to ours.
	ErrSocketType = errors.New("zmtp: incompatible socket type")
	// ErrPeerError: the peer sent an ERROR command.
	ErrPeerError = errors.New("zmtp: peer sent ERROR")
)

// Reason returns a short label for err, for counters and logs: one of
// "greeting", "version", "mechanism", "frame_too_large", "frame_flags",
// "command", "handshake", "socket_type", "peer_error", "curve_auth",
// "curve_crypto", "truncated", "eof",
// "timeout", "closed" or "io".
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrGreeting):
		return "greeting"
	case errors.Is(err, ErrVersion):
		return "version"
	case errors.Is(err, ErrMechanism):
		return "mechanism"
	case errors.Is(err, ErrFrameTooLarge):
		return "frame_too_large"
	case errors.Is(err, ErrFrameFlags):
		return "frame_flags"
	case errors.Is(err, ErrCommand):
		return "command"
	case errors.Is(err, ErrHandshake):
		return "handshake"
	case errors.Is(err, ErrSocketType):
		return "socket_type"
	case errors.Is(err, ErrPeerError):
		return "peer_error"
	case errors.Is(err, ErrCurveAuth): // CURVE hook (curve.go)
		return "curve_auth"
	case errors.Is(err, ErrCurveCrypto): // CURVE hook (curve.go)
		return "curve_crypto"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, net.ErrClosed):
		return "closed"
	}
	return "io"
}

// IsHostile reports whether err shows the peer breaking the protocol (as
// opposed to a connection that merely ended): what a server counts as a
// rejected peer.
func IsHostile(err error) bool {
	switch Reason(err) {
	case "eof", "timeout", "closed", "io":
		return false
	}
	return true
}
