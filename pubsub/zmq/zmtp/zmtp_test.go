package zmtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGreetingRoundTrip(t *testing.T) {
	g := AppendGreeting(nil)
	require.Len(t, g, GreetingSize)
	require.Equal(t, []byte{0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1, 'N', 'U', 'L', 'L'}, g[:16])
	got, err := ParseGreeting(g)
	require.NoError(t, err)
	require.Equal(t, Greeting{Major: 3, Minor: 1, Mechanism: "NULL"}, got)
	require.True(t, got.Minor31())

	v30 := bytes.Clone(g)
	v30[minorOffset] = 0
	got, err = ParseGreeting(v30)
	require.NoError(t, err)
	require.False(t, got.Minor31(), "3.0 peers get 3.0 subscription messages")

	for name, mutate := range map[string]func([]byte){
		"signature": func(b []byte) { b[0] = 'G' },
		"zmtp 1.0":  func(b []byte) { b[9] = 0x7e },
		"version 2": func(b []byte) { b[majorOffset] = 2 },
		"mechanism": func(b []byte) { copy(b[mechOffset:], "PLAIN") },
	} {
		b := bytes.Clone(g)
		mutate(b)
		_, err := ParseGreeting(b)
		require.Error(t, err, name)
	}
	_, err = ParseGreeting(g[:10])
	require.ErrorIs(t, err, ErrGreeting)
}

func TestFrames(t *testing.T) {
	var b []byte
	b = AppendFrame(b, FlagMore, []byte("topic"))
	big := bytes.Repeat([]byte("x"), 300)
	b = AppendFrame(b, 0, big)
	b = AppendCommand(b, CmdPing, []byte{0, 10}, []byte("ctx"))
	huge := bytes.Repeat([]byte("y"), 200_000) // beyond the read buffer
	b = AppendFrame(b, 0, huge)
	b = AppendFrame(b, 0, nil)
	require.Equal(t, byte(FlagLong), b[2+5], "a 300-byte body takes a long header")

	for _, r := range []io.Reader{bytes.NewReader(b), iotest.OneByteReader(bytes.NewReader(b)), iotest.HalfReader(bytes.NewReader(b))} {
		fr := NewReader(r, 0, 0)
		f, err := fr.ReadFrame()
		require.NoError(t, err)
		require.True(t, f.More())
		require.Equal(t, "topic", string(f.Body))
		f, err = fr.ReadFrame()
		require.NoError(t, err)
		require.False(t, f.More())
		require.Equal(t, big, f.Body)
		f, err = fr.ReadFrame()
		require.NoError(t, err)
		require.True(t, f.IsCommand())
		cmd, err := ParseCommand(f.Body)
		require.NoError(t, err)
		require.Equal(t, CmdPing, cmd.Name)
		ttl, ctx, err := ParsePing(cmd.Data)
		require.NoError(t, err)
		require.Equal(t, uint16(10), ttl)
		require.Equal(t, "ctx", string(ctx))
		f, err = fr.ReadFrame()
		require.NoError(t, err)
		require.Equal(t, huge, f.Body)
		f, err = fr.ReadFrame()
		require.NoError(t, err)
		require.Empty(t, f.Body)
		_, err = fr.ReadFrame()
		require.ErrorIs(t, err, io.EOF)
	}
}

func TestFrameErrors(t *testing.T) {
	read := func(b []byte, max int) error {
		_, err := NewReader(bytes.NewReader(b), 0, max).ReadFrame()
		return err
	}
	require.ErrorIs(t, read([]byte{0x08, 0}, 0), ErrFrameFlags)
	require.ErrorIs(t, read(binary.BigEndian.AppendUint64([]byte{FlagLong}, 1<<62), 0), ErrFrameTooLarge)
	require.ErrorIs(t, read([]byte{0, 101}, 100), ErrFrameTooLarge, "refused before a byte of the body")
	require.ErrorIs(t, read([]byte{0, 10, 'a'}, 0), io.ErrUnexpectedEOF)
	require.ErrorIs(t, read([]byte{FlagLong, 0, 0}, 0), io.ErrUnexpectedEOF)
	require.ErrorIs(t, read([]byte{0}, 0), io.ErrUnexpectedEOF)
	require.ErrorIs(t, read(nil, 0), io.EOF)
	require.Equal(t, "frame_too_large", Reason(read([]byte{0, 101}, 100)))
	require.Equal(t, "truncated", Reason(read([]byte{0, 10, 'a'}, 0)))
	require.True(t, IsHostile(read([]byte{0x08, 0}, 0)))
	require.False(t, IsHostile(read(nil, 0)))
}

// A large frame's buffer grows with the bytes that arrive, not with the
// size the header claims.
func TestLargeFrameAllocatesWithData(t *testing.T) {
	b := binary.BigEndian.AppendUint64([]byte{FlagLong}, 8<<20)
	b = append(b, make([]byte, 100_000)...)
	fr := NewReader(bytes.NewReader(b), 0, 16<<20)
	_, err := fr.ReadFrame()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Less(t, cap(fr.big), 1<<20, "allocated %d bytes for 100 kB that arrived", cap(fr.big))
}

func TestCommands(t *testing.T) {
	ready := AppendReady(nil, Property{PropSocketType, "SUB"}, Property{PropIdentity, "me"}, Property{"X-Df-Version", "2"})
	f, err := NewReader(bytes.NewReader(ready), 0, 0).ReadFrame()
	require.NoError(t, err)
	cmd, err := ParseCommand(f.Body)
	require.NoError(t, err)
	require.Equal(t, CmdReady, cmd.Name)
	md, err := ParseMetadata(cmd.Data)
	require.NoError(t, err)
	require.Equal(t, "SUB", md.Get("socket-type"))
	require.Equal(t, "me", md.Get("IDENTITY"))
	require.Equal(t, "2", md.Get("x-df-version"))

	_, err = ParseMetadata([]byte{5, 'a', 'b'})
	require.ErrorIs(t, err, ErrCommand)
	_, err = ParseMetadata([]byte{1, 'a', 0xff, 0xff, 0xff, 0xff})
	require.ErrorIs(t, err, ErrCommand)
	_, err = ParseCommand([]byte{9, 'S'})
	require.ErrorIs(t, err, ErrCommand)
	_, err = ParseCommand(nil)
	require.ErrorIs(t, err, ErrCommand)
	_, _, err = ParsePing([]byte{1})
	require.ErrorIs(t, err, ErrCommand)

	f, _ = NewReader(bytes.NewReader(AppendError(nil, strings.Repeat("e", 300))), 0, 0).ReadFrame()
	cmd, _ = ParseCommand(f.Body)
	require.Equal(t, strings.Repeat("e", 255), ParseError(cmd.Data))
}

func TestSubscriptions(t *testing.T) {
	for _, minor31 := range []bool{true, false} {
		var b []byte
		b = AppendSubscribe(b, minor31, "D")
		b = AppendCancel(b, minor31, "tenant")
		b = AppendSubscribe(b, minor31, "")
		fr := NewReader(bytes.NewReader(b), 0, 0)
		for _, want := range []struct {
			sub   bool
			topic string
		}{{true, "D"}, {false, "tenant"}, {true, ""}} {
			f, err := fr.ReadFrame()
			require.NoError(t, err)
			require.Equal(t, minor31, f.IsCommand())
			sub, topic, ok := ParseSubscription(f)
			require.True(t, ok)
			require.Equal(t, want.sub, sub)
			require.Equal(t, want.topic, string(topic))
		}
	}
	_, _, ok := ParseSubscription(Frame{Body: []byte{2, 'x'}})
	require.False(t, ok, "first byte 2 is no subscription")
	_, _, ok = ParseSubscription(Frame{Flags: FlagMore, Body: []byte{1, 'x'}})
	require.False(t, ok, "a multi-frame message is no subscription")
	_, _, ok = ParseSubscription(Frame{Flags: FlagCommand, Body: AppendPong(nil, nil)[2:]})
	require.False(t, ok)
}

func TestCompatible(t *testing.T) {
	ok := [][2]string{{PUB, SUB}, {PUB, XSUB}, {XPUB, SUB}, {SUB, PUB}, {SUB, XPUB}, {XSUB, PUB}, {PUSH, PULL}, {PULL, PUSH}}
	for _, p := range ok {
		require.True(t, Compatible(p[0], p[1]), p)
	}
	for _, p := range [][2]string{{PUB, PUB}, {PUB, PULL}, {SUB, SUB}, {PUSH, PUSH}, {PULL, SUB}, {"REQ", "REP"}, {PUB, ""}} {
		require.False(t, Compatible(p[0], p[1]), p)
	}
}

// tcpPair returns both ends of a loopback TCP connection (net.Pipe has no
// buffer, which no real transport lacks).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	a, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	b, err := l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	_ = b.SetDeadline(time.Now().Add(5 * time.Second))
	return a, b
}

func TestHandshake(t *testing.T) {
	a, b := tcpPair(t)
	type result struct {
		p   Peer
		err error
	}
	ch := make(chan result, 1)
	go func() {
		p, err := Handshake(b, NewReader(b, 0, 0), PUB, Property{"X-Df-Version", "2"})
		ch <- result{p, err}
	}()
	p, err := Handshake(a, NewReader(a, 0, 0), SUB, Property{PropIdentity, "sub-1"})
	require.NoError(t, err)
	require.Equal(t, PUB, p.SocketType)
	require.Equal(t, "2", p.Metadata.Get("x-df-version"))
	r := <-ch
	require.NoError(t, r.err)
	require.Equal(t, SUB, r.p.SocketType)
	require.Equal(t, "sub-1", r.p.Identity)
	require.Equal(t, byte(1), r.p.Minor)
}

func TestHandshakeRefusals(t *testing.T) {
	run := func(peerBytes []byte, local string) (error, []byte) {
		var out bytes.Buffer
		_, err := Handshake(&out, NewReader(bytes.NewReader(peerBytes), 0, 0), local)
		return err, out.Bytes()
	}
	g := AppendGreeting(nil)
	err, _ := run(append(bytes.Clone(g), AppendReady(nil, Property{PropSocketType, "PUB"})...), PUB)
	require.ErrorIs(t, err, ErrSocketType)
	err, out := run(append(bytes.Clone(g), AppendReady(nil, Property{PropSocketType, "PUSH"})...), SUB)
	require.ErrorIs(t, err, ErrSocketType)
	f := NewReader(bytes.NewReader(out), 0, 0)
	_, _ = f.ReadFull(GreetingSize)
	_, _ = f.ReadFrame() // our READY
	errFrame, ferr := f.ReadFrame()
	require.NoError(t, ferr)
	cmd, _ := ParseCommand(errFrame.Body)
	require.Equal(t, CmdError, cmd.Name, "a refused peer is told why")

	err, _ = run(append(bytes.Clone(g), AppendError(nil, "no")...), SUB)
	require.ErrorIs(t, err, ErrPeerError)
	err, _ = run(append(bytes.Clone(g), AppendFrame(nil, 0, []byte("data"))...), SUB)
	require.ErrorIs(t, err, ErrHandshake)
	err, _ = run(append(bytes.Clone(g), AppendCommand(nil, CmdPing, []byte{0, 0})...), SUB)
	require.ErrorIs(t, err, ErrHandshake)
	err, _ = run(g[:30], SUB)
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	err, _ = run([]byte("GET / HTTP/1.1\r\n"), SUB)
	require.ErrorIs(t, err, ErrGreeting)
	require.True(t, errors.Is(err, ErrGreeting))
	err, _ = run(append(bytes.Clone(g), AppendReady(nil, Property{PropSocketType, "PUB"}, Property{PropIdentity, strings.Repeat("i", 256)})...), SUB)
	require.ErrorIs(t, err, ErrHandshake)
}

// A peer that sends its greeting only after reading ours (as libzmq does in
// stages) does not deadlock the handshake.
func TestHandshakeStaged(t *testing.T) {
	a, b := tcpPair(t)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, GreetingSize)
		if _, err := io.ReadFull(b, buf[:SignatureSize]); err != nil {
			done <- err
			return
		}
		g := AppendGreeting(nil)
		_, _ = b.Write(g[:SignatureSize])
		_, _ = io.ReadFull(b, buf[SignatureSize:])
		_, _ = b.Write(g[SignatureSize:])
		_, _ = b.Write(AppendReady(nil, Property{PropSocketType, "PUB"}))
		_, err := io.Copy(io.Discard, b)
		done <- err
	}()
	_, err := Handshake(a, NewReader(a, 0, 0), SUB)
	require.NoError(t, err)
	_ = a.Close()
	require.NoError(t, <-done)
}
