package zmtp

// CURVE mechanism, wire format (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ 1.0):
// keys, nonces, and the encoding and decoding of the five commands. The
// decoders only check sizes and names; every box is opened by the handshake
// (curve_handshake.go) or the message stream (curve_stream.go).
//
//	HELLO     200 bytes: [5]"HELLO", version 1.0, 72 zero bytes, C',
//	          short nonce, Box[64 zero bytes](C'->S)
//	WELCOME   168 bytes: [7]"WELCOME", long nonce, Box[S' + cookie](S->C')
//	          cookie = long nonce + SecretBox[C' + s'](K)
//	INITIATE  257+ bytes: [8]"INITIATE", cookie, short nonce,
//	          Box[C + vouch + metadata](C'->S'); vouch = long nonce + Box[C' + S](C->S')
//	READY     30+ bytes: [5]"READY", short nonce, Box[metadata](S'->C')
//	MESSAGE   33+ bytes: [7]"MESSAGE", short nonce, Box[flags + payload]
//
// Short nonces are 8-byte big-endian counters prefixed by a 16-byte label
// ("CurveZMQHELLO---", "CurveZMQINITIATE", "CurveZMQREADY---",
// "CurveZMQMESSAGEC" from the client, "CurveZMQMESSAGES" from the server);
// long nonces are 16 random bytes prefixed by an 8-byte label ("WELCOME-",
// "COOKIE--", "VOUCH---"). In a MESSAGE, flags bit 0 is MORE and bit 1 marks
// a ZMTP command (PING, PONG, SUBSCRIBE, CANCEL), as libzmq 4.3 encodes them.

import (
	"crypto/ecdh"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/box"
)

// MechanismCURVE is the greeting's mechanism name for CURVE.
const MechanismCURVE = "CURVE"

// CurveKeySize is the size of every CURVE key, public or secret.
const CurveKeySize = 32

// Errors of the CURVE mechanism (see also Reason).
var (
	// ErrCurveAuth: a peer failed authentication: its HELLO is not sealed
	// to our server key, its WELCOME not sealed by the server key we
	// expect, its vouch does not match, or its permanent key is not allowed.
	ErrCurveAuth = errors.New("zmtp: CURVE authentication failed")
	// ErrCurveCrypto: a box that does not open after authentication (a
	// forged or corrupted MESSAGE, READY or cookie) or a short nonce that
	// does not increase (a replay).
	ErrCurveCrypto = errors.New("zmtp: CURVE box does not open")
)

// CurveKey is a CURVE public or secret key (32 bytes; Z85 as text).
type CurveKey [CurveKeySize]byte

// ParseCurveKey decodes a key from its 40-character Z85 text. The error
// never quotes the text (it may be a secret key).
func ParseCurveKey(z85 string) (CurveKey, error) {
	var k CurveKey
	if len(z85) != 40 {
		return k, fmt.Errorf("%w: a CURVE key is 40 Z85 characters, got %d", ErrZ85, len(z85))
	}
	b, err := Z85Decode(z85)
	if err != nil {
		return k, err
	}
	copy(k[:], b)
	return k, nil
}

// Z85 returns the key's 40-character Z85 text.
func (k CurveKey) Z85() string {
	s, _ := Z85Encode(k[:]) // 32 is a multiple of 4
	return s
}

// CurvePublicKey returns the public key of secret.
func CurvePublicKey(secret CurveKey) (CurveKey, error) {
	priv, err := ecdh.X25519().NewPrivateKey(secret[:])
	if err != nil {
		return CurveKey{}, fmt.Errorf("zmtp: CURVE secret key: %w", err)
	}
	var pub CurveKey
	copy(pub[:], priv.PublicKey().Bytes())
	return pub, nil
}

// CurveServerKeys is what a CURVE server knows: its permanent key pair and
// which client permanent keys it accepts.
type CurveServerKeys struct {
	Secret, Public CurveKey
	// Authorize reports whether a client's permanent public key may
	// connect; it must compare in constant time. Nil refuses everyone.
	Authorize func(client CurveKey) bool
}

// CurveClientKeys is what a CURVE client knows: its permanent key pair and
// the server's permanent public key.
type CurveClientKeys struct {
	Secret, Public, Server CurveKey
}

// KeyIn reports, in constant time for every key of allowed, whether k is
// one of them.
func (k CurveKey) KeyIn(allowed []CurveKey) bool {
	found := 0
	for i := range allowed {
		found |= subtle.ConstantTimeCompare(k[:], allowed[i][:])
	}
	return found == 1
}

// Command names as they open a CURVE command body (size byte + name).
const (
	curveHello    = "\x05HELLO"
	curveWelcome  = "\x07WELCOME"
	curveInitiate = "\x08INITIATE"
	curveReady    = "\x05READY"
	curveMessage  = "\x07MESSAGE"
	curveError    = "\x05ERROR"
)

// Sizes (RFC 26 §"High-level Grammar").
const (
	helloSize        = 200
	helloPadding     = 72
	welcomeSize      = 168
	cookieSize       = 96
	vouchSize        = 96
	initiateMinSize  = 257
	readyMinSize     = 30
	messageMinSize   = 33
	longNonceSize    = 16
	shortNonceSize   = 8
	helloSignature   = 64
	welcomePlainSize = CurveKeySize + cookieSize
	// CurveMessageOverhead is what a MESSAGE adds to a frame's body: name,
	// short nonce, box authenticator, flags byte.
	CurveMessageOverhead = len(curveMessage) + shortNonceSize + box.Overhead + 1
	// maxCurveHandshakeFrame bounds HELLO … READY (metadata included).
	maxCurveHandshakeFrame = 16 << 10
)

// Nonce labels.
const (
	nonceHello    = "CurveZMQHELLO---"
	nonceInitiate = "CurveZMQINITIATE"
	nonceReady    = "CurveZMQREADY---"
	nonceMsgC     = "CurveZMQMESSAGEC"
	nonceMsgS     = "CurveZMQMESSAGES"
	nonceWelcome  = "WELCOME-"
	nonceCookie   = "COOKIE--"
	nonceVouch    = "VOUCH---"
)

// shortNonce sets n to label (16 bytes) + counter.
func shortNonce(n *[24]byte, label string, counter uint64) *[24]byte {
	copy(n[:16], label)
	binary.BigEndian.PutUint64(n[16:], counter)
	return n
}

// longNonce sets n to label (8 bytes) + 16 bytes of b.
func longNonce(n *[24]byte, label string, b []byte) *[24]byte {
	copy(n[:8], label)
	copy(n[8:], b[:longNonceSize])
	return n
}

// hello is a decoded HELLO.
type hello struct {
	client CurveKey // C'
	nonce  uint64
	sig    []byte // Box[64 zeros](C'->S), 80 bytes
}

func parseHello(body []byte) (hello, error) {
	if len(body) != helloSize || string(body[:len(curveHello)]) != curveHello {
		return hello{}, fmt.Errorf("%w: HELLO of %d bytes", ErrCommand, len(body))
	}
	b := body[len(curveHello):]
	if b[0] != 1 || b[1] != 0 {
		return hello{}, fmt.Errorf("%w: CurveZMQ version %d.%d", ErrVersion, b[0], b[1])
	}
	b = b[2+helloPadding:]
	var h hello
	copy(h.client[:], b)
	h.nonce = binary.BigEndian.Uint64(b[CurveKeySize:])
	h.sig = b[CurveKeySize+shortNonceSize:]
	return h, nil
}

func appendHello(dst []byte, client CurveKey, nonce uint64, sig []byte) []byte {
	dst = append(dst, curveHello...)
	dst = append(dst, 1, 0)
	dst = append(dst, make([]byte, helloPadding)...)
	dst = append(dst, client[:]...)
	dst = binary.BigEndian.AppendUint64(dst, nonce)
	return append(dst, sig...)
}

// parseWelcome returns a WELCOME's long nonce and box (144 bytes).
func parseWelcome(body []byte) (nonce, sealed []byte, err error) {
	if len(body) != welcomeSize || string(body[:len(curveWelcome)]) != curveWelcome {
		return nil, nil, fmt.Errorf("%w: WELCOME of %d bytes", ErrCommand, len(body))
	}
	b := body[len(curveWelcome):]
	return b[:longNonceSize], b[longNonceSize:], nil
}

// initiate is a decoded INITIATE.
type initiate struct {
	cookie []byte // 96 bytes
	nonce  uint64
	sealed []byte // Box[C + vouch + metadata](C'->S'), 144+ bytes
}

func parseInitiate(body []byte) (initiate, error) {
	if len(body) < initiateMinSize || string(body[:len(curveInitiate)]) != curveInitiate {
		return initiate{}, fmt.Errorf("%w: INITIATE of %d bytes", ErrCommand, len(body))
	}
	b := body[len(curveInitiate):]
	return initiate{
		cookie: b[:cookieSize],
		nonce:  binary.BigEndian.Uint64(b[cookieSize:]),
		sealed: b[cookieSize+shortNonceSize:],
	}, nil
}

// parseShortBoxed decodes a READY or a MESSAGE: name, short nonce, box.
func parseShortBoxed(body []byte, name string, minSize int) (nonce uint64, sealed []byte, err error) {
	if len(body) < minSize || string(body[:len(name)]) != name {
		return 0, nil, fmt.Errorf("%w: %s of %d bytes", ErrCommand, name[1:], len(body))
	}
	b := body[len(name):]
	return binary.BigEndian.Uint64(b), b[shortNonceSize:], nil
}

// appendMetadata appends props as READY/INITIATE metadata.
func appendMetadata(dst []byte, props ...Property) []byte {
	for _, p := range props {
		dst = append(dst, byte(len(p.Name)))
		dst = append(dst, p.Name...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(p.Value)))
		dst = append(dst, p.Value...)
	}
	return dst
}

// appendCommandFrame appends a command frame of body.
func appendCommandFrame(dst, body []byte) []byte {
	return AppendFrame(dst, FlagCommand, body)
}
