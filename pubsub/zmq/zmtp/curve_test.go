package zmtp

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"
)

func TestZ85(t *testing.T) {
	// RFC 32's test case.
	s, err := Z85Encode([]byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B})
	require.NoError(t, err)
	require.Equal(t, "HelloWorld", s)
	b, err := Z85Decode("HelloWorld")
	require.NoError(t, err)
	require.Equal(t, []byte{0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B}, b)

	// zmq_curve(7)'s test key pair (the secret key's public key).
	sec, err := ParseCurveKey("D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs")
	require.NoError(t, err)
	pub, err := CurvePublicKey(sec)
	require.NoError(t, err)
	require.Equal(t, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", pub.Z85())

	for range 100 {
		var k CurveKey
		_, _ = rand.Read(k[:])
		back, err := ParseCurveKey(k.Z85())
		require.NoError(t, err)
		require.Equal(t, k, back)
	}
	for _, bad := range []string{"Hell", "HelloWorl", "Hello Worl", "#####", "Hello\x00orld"} {
		_, err := Z85Decode(bad)
		require.ErrorIs(t, err, ErrZ85, "%q", bad)
	}
	_, err = Z85Encode([]byte{1, 2, 3})
	require.ErrorIs(t, err, ErrZ85)
	_, err = ParseCurveKey("HelloWorld")
	require.ErrorIs(t, err, ErrZ85)
}

// testKeys returns a server's keys allowing client, and client's keys.
func testKeys(t testing.TB) (*CurveServerKeys, *CurveClientKeys) {
	t.Helper()
	sp, ss, err := box.GenerateKey(rand.Reader)
	require.NoError(t, err)
	cp, cs, err := box.GenerateKey(rand.Reader)
	require.NoError(t, err)
	client := CurveKey(*cp)
	srv := &CurveServerKeys{Secret: *ss, Public: *sp, Authorize: func(k CurveKey) bool { return k.KeyIn([]CurveKey{client}) }}
	return srv, &CurveClientKeys{Secret: *cs, Public: *cp, Server: *sp}
}

type curveResult struct {
	p   Peer
	err error
}

// curvePair runs both handshakes over loopback TCP.
func curvePair(t *testing.T, sk *CurveServerKeys, ck *CurveClientKeys) (cs, ss *CurveStream, cr, sr curveResult) {
	t.Helper()
	cc, sc := tcpPair(t)
	cs, ss = NewCurveStream(cc, 1<<20), NewCurveStream(sc, 1<<20)
	done := make(chan curveResult, 1)
	go func() {
		p, err := ss.ServerHandshake(sk, PUB, Property{"X-Df-Version", "2"})
		if err != nil {
			_ = sc.Close()
		}
		done <- curveResult{p, err}
	}()
	p, err := cs.ClientHandshake(ck, SUB, Property{PropIdentity, "me"})
	if err != nil {
		_ = cc.Close()
	}
	return cs, ss, curveResult{p, err}, <-done
}

func TestCurveHandshakeAndStream(t *testing.T) {
	sk, ck := testKeys(t)
	cs, ss, cr, sr := curvePair(t, sk, ck)
	require.NoError(t, cr.err)
	require.NoError(t, sr.err)
	require.Equal(t, PUB, cr.p.SocketType)
	require.Equal(t, "2", cr.p.Metadata.Get("x-df-version"))
	require.Equal(t, MechanismCURVE, cr.p.Mechanism)
	require.True(t, cr.p.AsServer, "our server says so")
	require.Equal(t, SUB, sr.p.SocketType)
	require.Equal(t, "me", sr.p.Identity)
	require.Equal(t, ck.Public, ss.PeerKey())

	// Frames of every kind, written in awkward pieces, arrive intact.
	var plain []byte
	plain = AppendSubscribe(plain, true, "D")
	plain = AppendPing(plain, 10, []byte("ctx"))
	plain = AppendFrame(plain, FlagMore, []byte("D"))
	plain = AppendFrame(plain, 0, bytes.Repeat([]byte("b"), 300))
	plain = AppendFrame(plain, 0, nil)
	big := make([]byte, 300_000)
	_, _ = rand.Read(big)
	plain = AppendFrame(plain, FlagMore, big)
	plain = AppendFrame(plain, 0, []byte("end"))
	go func() {
		for i := 0; i < len(plain); {
			n := min(1+i%7919, len(plain)-i)
			if _, err := cs.Write(plain[i : i+n]); err != nil {
				return
			}
			i += n
		}
	}()
	got := make([]byte, 0, len(plain))
	buf := make([]byte, 1000) // smaller than the big frame: it comes in pieces
	for len(got) < len(plain) {
		n, err := ss.Read(buf)
		require.NoError(t, err)
		got = append(got, buf[:n]...)
	}
	require.Equal(t, plain, got)
	// …and they decode as plain frames.
	r := NewReader(bytes.NewReader(got), 0, 0)
	f, err := r.ReadFrame()
	require.NoError(t, err)
	c, err := ParseCommand(f.Body)
	require.NoError(t, err)
	require.Equal(t, CmdSubscribe, c.Name)

	// The other direction, one write.
	back := AppendFrame(AppendPong(nil, []byte("ctx")), 0, []byte("hi"))
	_, err = ss.Write(back)
	require.NoError(t, err)
	got = got[:0]
	for len(got) < len(back) {
		n, err := cs.Read(buf)
		require.NoError(t, err)
		got = append(got, buf[:n]...)
	}
	require.Equal(t, back, got)
}

func TestCurveRefusals(t *testing.T) {
	sk, ck := testKeys(t)

	// The client has another server key: the server cannot open HELLO.
	wrong := *ck
	_, _ = rand.Read(wrong.Server[:])
	_, _, cr, sr := curvePair(t, sk, &wrong)
	require.ErrorIs(t, sr.err, ErrCurveAuth)
	require.Equal(t, "curve_auth", Reason(sr.err))
	require.ErrorIs(t, cr.err, ErrPeerError, "the server sends ERROR")

	// A client key not in the allow-list.
	_, other := testKeys(t)
	other.Server = ck.Server
	_, _, cr, sr = curvePair(t, sk, other)
	require.ErrorIs(t, sr.err, ErrCurveAuth)
	require.Contains(t, sr.err.Error(), other.Public.Z85())
	require.ErrorIs(t, cr.err, ErrPeerError)

	// An impostor server (another key pair) cannot complete WELCOME.
	impostor, _ := testKeys(t)
	impostor.Authorize = sk.Authorize
	_, _, cr, sr = curvePair(t, impostor, ck)
	require.Error(t, sr.err)
	require.ErrorIs(t, sr.err, ErrCurveAuth)
	require.Error(t, cr.err)
}

// established returns a stream in the MESSAGE phase over c with a fixed
// key, as server or client.
func established(c io.ReadWriter, server bool, key *[32]byte) *CurveStream {
	s := NewCurveStream(c, 1<<16)
	s.shared = *key
	s.established(server, 2, 1)
	return s
}

func TestCurveMessageTampering(t *testing.T) {
	var key [32]byte
	_, _ = rand.Read(key[:])
	var wire bytes.Buffer
	cli := established(&wire, false, &key)
	_, err := cli.Write(AppendFrame(AppendFrame(nil, 0, []byte("one")), 0, []byte("two")))
	require.NoError(t, err)
	good := bytes.Clone(wire.Bytes())
	read := func(b []byte) error {
		s := established(&rw{Reader: bytes.NewReader(b)}, true, &key)
		_, err := io.ReadAll(s)
		return err
	}
	require.NoError(t, read(good))

	flipped := bytes.Clone(good)
	flipped[len(flipped)-1] ^= 1
	require.ErrorIs(t, read(flipped), ErrCurveCrypto)

	first := good[:2+int(good[1])]
	require.ErrorIs(t, read(append(bytes.Clone(good), first...)), ErrCurveCrypto, "a replayed MESSAGE")

	require.ErrorIs(t, read(AppendFrame(nil, 0, []byte("plain"))), ErrCommand)
	require.ErrorIs(t, read(AppendError(nil, "bye")), ErrPeerError)
	require.ErrorIs(t, read(good[:len(good)-3]), io.ErrUnexpectedEOF)

	huge := binary.BigEndian.AppendUint64([]byte{FlagCommand | FlagLong}, 1<<40)
	require.ErrorIs(t, read(huge), ErrFrameTooLarge)

	// The server's messages do not open as the client's (other nonce label).
	var back bytes.Buffer
	srv := established(&back, true, &key)
	_, err = srv.Write(AppendFrame(nil, 0, []byte("x")))
	require.NoError(t, err)
	require.ErrorIs(t, read(back.Bytes()), ErrCurveCrypto)

	var e *net.OpError
	require.False(t, errors.As(read(good), &e))
}

// BenchmarkCurveStream: seal and open 300-byte frames (two per message, as
// a Dragonflow event), in 64 KiB writes as a publisher's writer batches
// them.
func BenchmarkCurveStream(b *testing.B) {
	var key [32]byte
	_, _ = rand.Read(key[:])
	var wire bytes.Buffer
	w := established(&wire, false, &key)
	var batch []byte
	for len(batch) < 60<<10 {
		batch = AppendFrame(AppendFrame(batch, FlagMore, []byte("D")), 0, bytes.Repeat([]byte("x"), 300))
	}
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		wire.Reset()
		if _, err := w.Write(batch); err != nil {
			b.Fatal(err)
		}
		r := established(&rw{Reader: &wire}, true, &key)
		got := 0
		for {
			n, err := r.Read(buf)
			got += n
			if err != nil {
				if err != io.EOF || got != len(batch) {
					b.Fatalf("read %d of %d bytes: %v", got, len(batch), err)
				}
				break
			}
		}
	}
}
