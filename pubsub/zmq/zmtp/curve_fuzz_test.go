package zmtp

import (
	"bytes"
	"crypto/rand"
	"io"
	"testing"

	"golang.org/x/crypto/nacl/box"
)

// FuzzCurveCommands: whatever a peer sends after a CURVE greeting, neither
// handshake panics, and the server never accepts without a HELLO sealed to
// its key; the command decoders fail cleanly on any body.
func FuzzCurveCommands(f *testing.F) {
	sk, ck := testKeys(f)
	cPub, cSec, _ := box.GenerateKey(rand.Reader)
	var n [24]byte
	sig := box.Seal(nil, make([]byte, helloSignature), shortNonce(&n, nonceHello, 1), (*[32]byte)(&sk.Public), cSec)
	hello := appendCommandFrame(nil, appendHello(nil, *cPub, 1, sig))
	f.Add(hello)
	f.Add(append(bytes.Clone(hello), appendCommandFrame(nil, append([]byte(curveInitiate), make([]byte, 300)...))...))
	f.Add(appendCommandFrame(nil, append([]byte(curveWelcome), make([]byte, welcomeSize-8)...)))
	f.Add(appendCommandFrame(nil, append([]byte(curveReady), make([]byte, 40)...)))
	f.Add(AppendError(nil, "no"))
	f.Add(AppendReady(nil, Property{PropSocketType, "SUB"}))
	f.Add(hello[:100])
	clientGreeting := appendGreeting(nil, MechanismCURVE, false)
	serverGreeting := appendGreeting(nil, MechanismCURVE, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &rw{Reader: io.MultiReader(bytes.NewReader(clientGreeting), bytes.NewReader(b))}
		s := NewCurveStream(c, 4096)
		if _, err := s.ServerHandshake(sk, PUB); err == nil {
			t.Fatalf("server handshake accepted %d fuzzed bytes", len(b))
		}
		c = &rw{Reader: io.MultiReader(bytes.NewReader(serverGreeting), bytes.NewReader(b))}
		if _, err := NewCurveStream(c, 4096).ClientHandshake(ck, SUB); err == nil {
			t.Fatalf("client handshake accepted %d fuzzed bytes", len(b))
		}
		_, _ = parseHello(b)
		_, _, _ = parseWelcome(b)
		_, _ = parseInitiate(b)
		_, _, _ = parseShortBoxed(b, curveReady, readyMinSize)
		_, _, _ = parseShortBoxed(b, curveMessage, messageMinSize)
	})
}

// FuzzCurveMessages: whatever arrives after the handshake, Read never
// panics, yields only well-formed plain frames within the limit, and stops
// at the first MESSAGE that does not open.
func FuzzCurveMessages(f *testing.F) {
	var key [32]byte
	_, _ = rand.Read(key[:])
	var wire bytes.Buffer
	cli := established(&wire, false, &key)
	var plain []byte
	plain = AppendFrame(AppendFrame(plain, FlagMore, []byte("D")), 0, bytes.Repeat([]byte("x"), 300))
	plain = AppendPing(plain, 10, []byte("c"))
	_, _ = cli.Write(plain)
	f.Add(bytes.Clone(wire.Bytes()))
	f.Add(wire.Bytes()[:40])
	f.Add(AppendError(nil, "bye"))
	f.Add(AppendFrame(nil, 0, append([]byte(curveMessage), make([]byte, 40)...)))
	const limit = 1 << 12
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewCurveStream(&rw{Reader: bytes.NewReader(b)}, limit)
		s.shared = key
		s.established(true, 2, 1)
		var out []byte
		buf := make([]byte, 700)
		for {
			n, err := s.Read(buf)
			out = append(out, buf[:n]...)
			if err != nil {
				break
			}
		}
		r := NewReader(bytes.NewReader(out), 0, limit)
		for {
			fr, err := r.ReadFrame()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("Read yielded a bad plain stream: %v", err)
			}
			if len(fr.Body) > limit {
				t.Fatalf("plain frame of %d bytes above the limit", len(fr.Body))
			}
		}
	})
}
