package zmtp

import (
	"bytes"
	"fmt"
)

// Greeting layout (RFC 23 §"The Greeting").
const (
	// GreetingSize is the length of a ZMTP 3.x greeting.
	GreetingSize = 64
	// SignatureSize is the length of the signature that opens it; a peer can
	// be refused after these bytes, without waiting for the rest.
	SignatureSize = 10

	sigFirst      = 0xFF
	sigLast       = 0x7F
	majorOffset   = 10
	minorOffset   = 11
	mechOffset    = 12
	mechSize      = 20
	serverOffset  = 32
	majorVersion  = 3
	localMinor    = 1
	mechanismNULL = "NULL"
)

// Greeting is what a peer announced in its greeting.
type Greeting struct {
	Major, Minor byte
	Mechanism    string
	AsServer     bool
}

// Minor31 reports whether the peer speaks ZMTP 3.1 or later (PING/PONG and
// SUBSCRIBE/CANCEL commands) rather than 3.0.
func (g Greeting) Minor31() bool { return g.Major > majorVersion || g.Minor >= 1 }

// AppendGreeting appends this side's greeting: ZMTP 3.1, mechanism NULL,
// as-server 0 (NULL has no server role), and a zero filler. The signature's
// padding is 0…01 as libzmq sends it (a ZMTP 1.0 peer reads it as a
// one-byte identity frame and fails cleanly).
func AppendGreeting(dst []byte) []byte {
	return appendGreeting(dst, mechanismNULL, false)
}

// appendGreeting appends a greeting announcing mechanism mech and the
// as-server flag (mechanism hook: NULL here, CURVE in curve_handshake.go).
func appendGreeting(dst []byte, mech string, asServer bool) []byte {
	dst = append(dst, sigFirst, 0, 0, 0, 0, 0, 0, 0, 1, sigLast, majorVersion, localMinor)
	dst = append(dst, mech...)
	dst = append(dst, make([]byte, serverOffset-mechOffset-len(mech))...)
	server := byte(0)
	if asServer {
		server = 1
	}
	dst = append(dst, server)
	dst = append(dst, make([]byte, GreetingSize-serverOffset-1)...)
	return dst
}

// CheckSignature checks the first SignatureSize bytes of a greeting, so a
// peer that is not ZMTP at all is refused without waiting for more.
func CheckSignature(b []byte) error {
	if len(b) < SignatureSize {
		return fmt.Errorf("%w: %d bytes", ErrGreeting, len(b))
	}
	if b[0] != sigFirst || b[SignatureSize-1]&1 == 0 {
		return fmt.Errorf("%w: signature % x", ErrGreeting, b[:SignatureSize])
	}
	return nil
}

// ParseGreeting checks a peer's 64-byte greeting: a ZMTP signature, version
// 3.0 or later, mechanism NULL.
func ParseGreeting(b []byte) (Greeting, error) {
	return parseGreeting(b, mechanismNULL)
}

// parseGreeting checks a peer's greeting announces mechanism want
// (mechanism hook: NULL here, CURVE in curve_handshake.go).
func parseGreeting(b []byte, want string) (Greeting, error) {
	if len(b) != GreetingSize {
		return Greeting{}, fmt.Errorf("%w: %d bytes, want %d", ErrGreeting, len(b), GreetingSize)
	}
	if err := CheckSignature(b); err != nil {
		return Greeting{}, err
	}
	g := Greeting{Major: b[majorOffset], Minor: b[minorOffset], AsServer: b[serverOffset] != 0}
	if g.Major < majorVersion {
		return g, fmt.Errorf("%w: ZMTP %d.%d", ErrVersion, g.Major, g.Minor)
	}
	mech := b[mechOffset : mechOffset+mechSize]
	if i := bytes.IndexByte(mech, 0); i >= 0 {
		mech = mech[:i]
	}
	g.Mechanism = string(mech)
	if g.Mechanism != want {
		return g, fmt.Errorf("%w: %q", ErrMechanism, g.Mechanism)
	}
	return g, nil
}
