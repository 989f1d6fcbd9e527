package zmtp

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
)

// FuzzFrameReader: whatever the bytes, the reader never panics, never
// returns a frame above its limit, and never allocates beyond a bounded
// multiple of what arrived; commands and subscriptions parse or fail
// cleanly.
func FuzzFrameReader(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, FlagMore, []byte("D")), 0, []byte("\x85\xa5table")))
	f.Add(AppendCommand(nil, CmdPing, []byte{0, 1}, []byte("ctx")))
	f.Add(AppendReady(nil, Property{PropSocketType, "SUB"}, Property{PropIdentity, "x"}))
	f.Add(AppendSubscribe(AppendCancel(nil, false, "a"), true, "b"))
	f.Add(binary.BigEndian.AppendUint64([]byte{FlagLong | FlagCommand}, 5000))
	f.Add([]byte{0x80, 0})
	f.Add(AppendFrame(nil, 0, bytes.Repeat([]byte("z"), 600))) // beyond the 256-byte buffer
	const limit = 100_000
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b), 256, limit)
		for {
			fr, err := r.ReadFrame()
			if err != nil {
				if err == io.EOF && r.Buffered() != 0 {
					t.Fatalf("EOF with %d bytes buffered", r.Buffered())
				}
				break
			}
			if len(fr.Body) > limit {
				t.Fatalf("frame of %d bytes above the limit", len(fr.Body))
			}
			if cap(r.big) > 2*len(b)+4096 {
				t.Fatalf("big buffer of %d bytes for %d bytes of input", cap(r.big), len(b))
			}
			ParseSubscription(fr)
			if fr.IsCommand() {
				if c, err := ParseCommand(fr.Body); err == nil {
					_, _ = ParseMetadata(c.Data)
					_, _, _ = ParsePing(c.Data)
					_ = ParseError(c.Data)
				}
			}
		}
	})
}

// rw is a connection made of a fixed input and a sink.
type rw struct {
	io.Reader
	out bytes.Buffer
}

func (c *rw) Write(b []byte) (int, error) { return c.out.Write(b) }

// FuzzHandshake: whatever the peer sends, the handshake never panics, and
// succeeds only with a valid greeting, a READY and a compatible socket type.
func FuzzHandshake(f *testing.F) {
	g := AppendGreeting(nil)
	f.Add(append(bytes.Clone(g), AppendReady(nil, Property{PropSocketType, "PUB"})...))
	f.Add(append(bytes.Clone(g), AppendReady(nil, Property{PropSocketType, "XPUB"}, Property{"X-Df-Version", "2"})...))
	f.Add(append(bytes.Clone(g), AppendError(nil, "no")...))
	f.Add(append(bytes.Clone(g), AppendReady(nil, Property{PropSocketType, "PUSH"})...))
	f.Add(g[:40])
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &rw{Reader: bytes.NewReader(b)}
		p, err := Handshake(c, NewReader(c, 0, 4096), SUB)
		if err != nil {
			return
		}
		if _, err := ParseGreeting(b[:GreetingSize]); err != nil {
			t.Fatalf("handshake accepted a bad greeting: %v", err)
		}
		if p.SocketType != PUB && p.SocketType != XPUB {
			t.Fatalf("handshake accepted socket type %q", p.SocketType)
		}
	})
}
