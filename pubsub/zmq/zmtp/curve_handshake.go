package zmtp

// The CURVE handshake (RFC 25/26) over a CurveStream. Like Handshake it has
// no goroutines: it runs over an io.ReadWriter whose deadlines the caller
// sets, and the caller closes the connection on error.
//
//	client                                  server
//	greeting CURVE as-server=0 + HELLO  →
//	                                    ←   greeting CURVE as-server=1
//	                                    ←   WELCOME (S', cookie)
//	INITIATE (cookie, C, vouch, md)     →
//	                                    ←   READY (md)   — or ERROR, close
//	MESSAGE …                          ↔   MESSAGE …
//
// The server checks the HELLO signature box (the client knows our key), the
// cookie, the INITIATE box, the vouch (C' and S, from C) and authorizes C;
// the client checks that WELCOME opens from the server key it expects (the
// server holds its secret key). Transient secrets are wiped once the
// session key is computed; the cookie key lives for one handshake.

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"

	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// CurveStream is one CURVE-secured connection: the handshake, then a byte
// stream of plain ZMTP frames (Read, Write) carried as MESSAGE commands. The
// read side and the write side may each be used by one goroutine at a time.
type CurveStream struct {
	rw       io.ReadWriter
	maxFrame int
	in       curveIn
	out      curveOut
	shared   [32]byte // precomputed box key of C' and S'
	peerKey  CurveKey // the client's permanent key (server side)
	ready    bool
}

// NewCurveStream returns a stream over rw (the raw connection) that refuses
// plain frames larger than maxFrame bytes (0: DefaultMaxFrameSize).
func NewCurveStream(rw io.ReadWriter, maxFrame int) *CurveStream {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	s := &CurveStream{rw: rw, maxFrame: maxFrame}
	s.in = curveIn{r: rw, buf: make([]byte, startReadBuffer), max: maxCurveHandshakeFrame}
	s.out = curveOut{w: rw}
	return s
}

// PeerKey returns the client's permanent public key once a server
// handshake has succeeded.
func (s *CurveStream) PeerKey() CurveKey { return s.peerKey }

// established switches the stream to MESSAGE commands.
func (s *CurveStream) established(server bool, sendNext, recvLast uint64) {
	s.in.max = uint64(s.maxFrame) + uint64(CurveMessageOverhead)
	s.in.key, s.out.key = &s.shared, &s.shared
	s.in.maxPlain = s.maxFrame
	send, recv := nonceMsgC, nonceMsgS
	if server {
		send, recv = recv, send
	}
	copy(s.out.nonce[:16], send)
	copy(s.in.nonce[:16], recv)
	s.out.next, s.in.last = sendNext, recvLast
	s.ready = true
}

// readGreeting reads and checks the peer's greeting: CURVE and, on the
// server side, a client (as-server 0). A client does not check the flag:
// libzmq 4.3's CURVE servers send as-server 0 too (roles come from the
// configuration, not from the greeting).
func (s *CurveStream) readGreeting(server bool) (Greeting, error) {
	sig, err := s.in.readRaw(SignatureSize)
	if err != nil {
		return Greeting{}, fmt.Errorf("zmtp: read greeting: %w", truncated(err))
	}
	if err := CheckSignature(sig); err != nil {
		return Greeting{}, err
	}
	var g [GreetingSize]byte
	copy(g[:], sig)
	rest, err := s.in.readRaw(GreetingSize - SignatureSize)
	if err != nil {
		return Greeting{}, fmt.Errorf("zmtp: read greeting: %w", truncated(err))
	}
	copy(g[SignatureSize:], rest)
	greet, err := parseGreeting(g[:], MechanismCURVE)
	if err != nil {
		return greet, err
	}
	if server && greet.AsServer {
		return greet, fmt.Errorf("%w: both peers are CURVE servers", ErrHandshake)
	}
	return greet, nil
}

// readCommand reads a handshake command: its name must be want; an ERROR
// fails with ErrPeerError.
func (s *CurveStream) readCommand(want string) ([]byte, error) {
	flags, body, err := s.in.readFrame()
	if err != nil {
		return nil, fmt.Errorf("zmtp: read %s: %w", want[1:], truncated(err))
	}
	if flags&FlagCommand == 0 || flags&FlagMore != 0 {
		return nil, fmt.Errorf("%w: a message before %s", ErrHandshake, want[1:])
	}
	c, err := ParseCommand(body)
	if err != nil {
		return nil, err
	}
	switch c.Name {
	case want[1:]:
		return body, nil
	case CmdError:
		return nil, fmt.Errorf("%w: %q", ErrPeerError, ParseError(c.Data))
	}
	return nil, fmt.Errorf("%w: %q instead of %s", ErrHandshake, c.Name, want[1:])
}

// ServerHandshake runs the server side as socketType, sending props (after
// Socket-Type) in READY. A client that fails authentication gets an ERROR
// command; the caller closes the connection on any error.
func (s *CurveStream) ServerHandshake(k *CurveServerKeys, socketType string, props ...Property) (Peer, error) {
	if _, err := s.rw.Write(appendGreeting(nil, MechanismCURVE, true)); err != nil {
		return Peer{}, fmt.Errorf("zmtp: write greeting: %w", err)
	}
	greet, err := s.readGreeting(true)
	if err != nil {
		return Peer{}, err
	}
	p := Peer{Greeting: greet}
	body, err := s.readCommand(curveHello)
	if err != nil {
		return p, err
	}
	h, err := parseHello(body)
	if err != nil {
		return p, err
	}
	var n [24]byte
	sig, ok := box.Open(nil, h.sig, shortNonce(&n, nonceHello, h.nonce), (*[32]byte)(&h.client), (*[32]byte)(&k.Secret))
	if !ok || subtle.ConstantTimeCompare(sig, make([]byte, helloSignature)) != 1 {
		return p, refuse(s.rw, fmt.Errorf("%w: HELLO is not sealed to this server's key", ErrCurveAuth))
	}

	// WELCOME: a fresh transient pair, its secret half in the cookie.
	tPub, tSec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return p, fmt.Errorf("zmtp: CURVE transient key: %w", err)
	}
	defer clear(tSec[:])
	var cookieKey [32]byte
	defer clear(cookieKey[:])
	_, _ = rand.Read(cookieKey[:])
	cookie := make([]byte, longNonceSize, cookieSize)
	_, _ = rand.Read(cookie)
	cookiePlain := append(append(make([]byte, 0, 64), h.client[:]...), tSec[:]...)
	cookie = secretbox.Seal(cookie, cookiePlain, longNonce(&n, nonceCookie, cookie), &cookieKey)
	clear(cookiePlain)
	wn := make([]byte, longNonceSize)
	_, _ = rand.Read(wn)
	welcome := append([]byte(curveWelcome), wn...)
	welcome = box.Seal(welcome, append(tPub[:], cookie...), longNonce(&n, nonceWelcome, wn), (*[32]byte)(&h.client), (*[32]byte)(&k.Secret))
	if _, err := s.rw.Write(appendCommandFrame(nil, welcome)); err != nil {
		return p, fmt.Errorf("zmtp: write WELCOME: %w", err)
	}

	// INITIATE.
	body, err = s.readCommand(curveInitiate)
	if err != nil {
		return p, err
	}
	ini, err := parseInitiate(body)
	if err != nil {
		return p, err
	}
	back, ok := secretbox.Open(nil, ini.cookie[longNonceSize:], longNonce(&n, nonceCookie, ini.cookie), &cookieKey)
	if !ok || subtle.ConstantTimeCompare(back[:CurveKeySize], h.client[:]) != 1 ||
		subtle.ConstantTimeCompare(back[CurveKeySize:], tSec[:]) != 1 {
		return p, fmt.Errorf("%w: INITIATE cookie", ErrCurveCrypto)
	}
	clear(back)
	if ini.nonce <= h.nonce {
		return p, fmt.Errorf("%w: INITIATE short nonce %d after %d", ErrCurveCrypto, ini.nonce, h.nonce)
	}
	box.Precompute(&s.shared, (*[32]byte)(&h.client), tSec)
	plain, ok := box.OpenAfterPrecomputation(nil, ini.sealed, shortNonce(&n, nonceInitiate, ini.nonce), &s.shared)
	if !ok {
		return p, fmt.Errorf("%w: INITIATE box", ErrCurveCrypto)
	}
	var client CurveKey
	copy(client[:], plain)
	vouch := plain[CurveKeySize : CurveKeySize+vouchSize]
	v, ok := box.Open(nil, vouch[longNonceSize:], longNonce(&n, nonceVouch, vouch), (*[32]byte)(&client), tSec)
	if !ok || subtle.ConstantTimeCompare(v[:CurveKeySize], h.client[:]) != 1 ||
		subtle.ConstantTimeCompare(v[CurveKeySize:], k.Public[:]) != 1 {
		return p, refuse(s.rw, fmt.Errorf("%w: the vouch does not match the client's keys", ErrCurveAuth))
	}
	if k.Authorize == nil || !k.Authorize(client) {
		return p, refuse(s.rw, fmt.Errorf("%w: client key %s is not allowed", ErrCurveAuth, client.Z85()))
	}
	s.peerKey = client
	if err := p.setMetadata(plain[CurveKeySize+vouchSize:], socketType); err != nil {
		return p, refuse(s.rw, err)
	}

	// READY, server short nonce 1.
	md := appendMetadata(nil, append([]Property{{PropSocketType, socketType}}, props...)...)
	ready := append([]byte(curveReady), 0, 0, 0, 0, 0, 0, 0, 1)
	ready = box.SealAfterPrecomputation(ready, md, shortNonce(&n, nonceReady, 1), &s.shared)
	if _, err := s.rw.Write(appendCommandFrame(nil, ready)); err != nil {
		return p, fmt.Errorf("zmtp: write READY: %w", err)
	}
	s.established(true, 2, ini.nonce)
	return p, nil
}

// ClientHandshake runs the client side as socketType, sending props (after
// Socket-Type) in INITIATE. It writes the greeting and HELLO at once.
func (s *CurveStream) ClientHandshake(k *CurveClientKeys, socketType string, props ...Property) (Peer, error) {
	tPub, tSec, err := box.GenerateKey(rand.Reader)
	if err != nil {
		return Peer{}, fmt.Errorf("zmtp: CURVE transient key: %w", err)
	}
	defer clear(tSec[:])
	var n [24]byte
	server := (*[32]byte)(&k.Server)
	sig := box.Seal(nil, make([]byte, helloSignature), shortNonce(&n, nonceHello, 1), server, tSec)
	out := appendGreeting(make([]byte, 0, GreetingSize+2+helloSize), MechanismCURVE, false)
	out = appendCommandFrame(out, appendHello(nil, *tPub, 1, sig))
	if _, err := s.rw.Write(out); err != nil {
		return Peer{}, fmt.Errorf("zmtp: write greeting: %w", err)
	}
	greet, err := s.readGreeting(false)
	if err != nil {
		return Peer{}, err
	}
	p := Peer{Greeting: greet}

	// WELCOME: S' and the cookie, from the server key we expect.
	body, err := s.readCommand(curveWelcome)
	if err != nil {
		return p, err
	}
	wn, sealed, err := parseWelcome(body)
	if err != nil {
		return p, err
	}
	w, ok := box.Open(nil, sealed, longNonce(&n, nonceWelcome, wn), server, tSec)
	if !ok || len(w) != welcomePlainSize {
		return p, fmt.Errorf("%w: WELCOME is not from the expected server key %s", ErrCurveAuth, k.Server.Z85())
	}
	var serverT [32]byte
	copy(serverT[:], w)
	cookie := w[CurveKeySize:]
	box.Precompute(&s.shared, &serverT, tSec)

	// INITIATE, client short nonce 2: C, the vouch, the metadata.
	vn := make([]byte, longNonceSize)
	_, _ = rand.Read(vn)
	vouch := box.Seal(vn, append(tPub[:], k.Server[:]...), longNonce(&n, nonceVouch, vn), &serverT, (*[32]byte)(&k.Secret))
	plain := append(append([]byte(nil), k.Public[:]...), vouch...)
	plain = appendMetadata(plain, append([]Property{{PropSocketType, socketType}}, props...)...)
	ini := append([]byte(curveInitiate), cookie...)
	ini = append(ini, 0, 0, 0, 0, 0, 0, 0, 2)
	ini = box.SealAfterPrecomputation(ini, plain, shortNonce(&n, nonceInitiate, 2), &s.shared)
	if _, err := s.rw.Write(appendCommandFrame(nil, ini)); err != nil {
		return p, fmt.Errorf("zmtp: write INITIATE: %w", err)
	}

	// READY.
	body, err = s.readCommand(curveReady)
	if err != nil {
		return p, err
	}
	rn, sealed, err := parseShortBoxed(body, curveReady, readyMinSize)
	if err != nil {
		return p, err
	}
	md, ok := box.OpenAfterPrecomputation(nil, sealed, shortNonce(&n, nonceReady, rn), &s.shared)
	if !ok {
		return p, fmt.Errorf("%w: READY box", ErrCurveCrypto)
	}
	// A CURVE client sends no ERROR (RFC 26): the caller just closes.
	if err := p.setMetadata(md, socketType); err != nil {
		return p, err
	}
	s.established(false, 3, rn)
	return p, nil
}
