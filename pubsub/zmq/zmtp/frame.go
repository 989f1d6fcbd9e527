package zmtp

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Frame flags (RFC 23 §"Framing").
const (
	FlagMore    = 0x01
	FlagLong    = 0x02
	FlagCommand = 0x04
	flagsKnown  = FlagMore | FlagLong | FlagCommand

	shortHeader = 2
	longHeader  = 9
	maxShort    = 255
)

// Frame is one decoded frame. Body aliases the Reader's buffer and is valid
// until the next call on the Reader.
type Frame struct {
	Flags byte
	Body  []byte
}

// More reports whether another frame of the same message follows.
func (f Frame) More() bool { return f.Flags&FlagMore != 0 }

// IsCommand reports whether the frame is a command rather than message data.
func (f Frame) IsCommand() bool { return f.Flags&FlagCommand != 0 }

// HeaderLen is the size of the header AppendFrameHeader writes for a body of
// n bytes.
func HeaderLen(n int) int {
	if n <= maxShort {
		return shortHeader
	}
	return longHeader
}

// AppendFrameHeader appends the header of a frame of n body bytes; flags
// takes FlagMore and FlagCommand, FlagLong is set as the size needs.
func AppendFrameHeader(dst []byte, flags byte, n int) []byte {
	flags &^= FlagLong
	if n <= maxShort {
		return append(dst, flags, byte(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, flags|FlagLong), uint64(n))
}

// AppendFrame appends a whole frame.
func AppendFrame(dst []byte, flags byte, body []byte) []byte {
	return append(AppendFrameHeader(dst, flags, len(body)), body...)
}

// Reader decodes frames from a byte stream through its own buffer, so that a
// stream of small frames costs one read system call per buffer-full. It is
// not safe for concurrent use.
type Reader struct {
	r          io.Reader
	buf        []byte
	start, end int
	bufMax     int // buf grows up to this while reads fill it
	max        uint64
	big        []byte // grows for frames larger than buf
	fillHook   func()
}

// Default buffer size and largest frame, when NewReader gets 0.
const (
	DefaultReadBuffer   = 64 << 10
	DefaultMaxFrameSize = 8 << 20
	bigKeep             = 1 << 20 // a large-frame buffer above this is not kept
	minReadBuffer       = 64      // room for a greeting
	startReadBuffer     = 4 << 10
)

// NewReader returns a Reader of r whose buffer grows up to bufSize bytes and
// that refuses frames larger than maxFrame bytes (0 means the defaults). The
// buffer starts at 4 KiB and doubles whenever a read fills it, so a quiet
// connection holds little memory and a busy one reads 64 KiB per call.
func NewReader(r io.Reader, bufSize, maxFrame int) *Reader {
	if bufSize <= 0 {
		bufSize = DefaultReadBuffer
	}
	bufSize = max(bufSize, minReadBuffer)
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameSize
	}
	return &Reader{r: r, buf: make([]byte, min(bufSize, startReadBuffer)), bufMax: bufSize, max: uint64(maxFrame)}
}

// SetFillHook sets f to run before every read from the underlying reader,
// that is, before the Reader may block: a caller batching decoded messages
// hands its batch over there.
func (r *Reader) SetFillHook(f func()) { r.fillHook = f }

// Buffered returns the number of bytes read ahead and not yet decoded.
func (r *Reader) Buffered() int { return r.end - r.start }

// fill makes at least n (≤ len(buf)) bytes available at buf[start:].
func (r *Reader) fill(n int) error {
	if r.end-r.start >= n {
		return nil
	}
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	for r.end < n {
		if r.fillHook != nil {
			r.fillHook()
		}
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		if r.end == len(r.buf) && len(r.buf) < r.bufMax {
			// The read filled the buffer: more is likely waiting.
			grown := make([]byte, min(2*len(r.buf), r.bufMax))
			copy(grown, r.buf[:r.end])
			r.buf = grown
		}
		if r.end >= n {
			break
		}
		if err != nil {
			if err == io.EOF && r.end > 0 {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// ReadFull returns the next n raw bytes (n ≤ the buffer size), for the
// greeting. They are valid until the next call.
func (r *Reader) ReadFull(n int) ([]byte, error) {
	if n > len(r.buf) {
		return nil, fmt.Errorf("zmtp: read of %d bytes exceeds the %d-byte buffer", n, len(r.buf))
	}
	if err := r.fill(n); err != nil {
		return nil, err
	}
	b := r.buf[r.start : r.start+n]
	r.start += n
	return b, nil
}

// ReadFrame decodes the next frame. A frame header with reserved bits set,
// or announcing more than the size limit, is an error before any of its body
// is read; the connection should be closed after any error.
func (r *Reader) ReadFrame() (Frame, error) {
	if err := r.fill(shortHeader); err != nil {
		if err == io.EOF && r.end > r.start {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	flags := r.buf[r.start]
	if flags&^flagsKnown != 0 {
		return Frame{}, fmt.Errorf("%w: %#02x", ErrFrameFlags, flags)
	}
	var size uint64
	hdr := shortHeader
	if flags&FlagLong == 0 {
		size = uint64(r.buf[r.start+1])
	} else {
		hdr = longHeader
		if err := r.fill(longHeader); err != nil {
			return Frame{}, truncated(err)
		}
		size = binary.BigEndian.Uint64(r.buf[r.start+1 : r.start+longHeader])
	}
	if size > r.max {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, r.max)
	}
	n := int(size)
	r.start += hdr
	if n > len(r.buf) && n <= r.bufMax {
		r.grow(n)
	}
	if n <= len(r.buf) {
		if err := r.fill(n); err != nil {
			return Frame{}, truncated(err)
		}
		body := r.buf[r.start : r.start+n : r.start+n]
		r.start += n
		return Frame{Flags: flags, Body: body}, nil
	}
	body, err := r.readBig(n)
	if err != nil {
		return Frame{}, truncated(err)
	}
	return Frame{Flags: flags, Body: body}, nil
}

// grow enlarges the buffer (up to bufMax) to hold at least n bytes.
func (r *Reader) grow(n int) {
	size := len(r.buf)
	for size < n {
		size *= 2
	}
	grown := make([]byte, min(size, r.bufMax))
	r.end = copy(grown, r.buf[r.start:r.end])
	r.start = 0
	r.buf = grown
}

// readBig reads a frame body larger than the buffer, growing r.big with the
// bytes that arrive rather than to the size the header claims.
func (r *Reader) readBig(n int) ([]byte, error) {
	b := append(r.big[:0], r.buf[r.start:r.end]...)
	r.start, r.end = 0, 0
	for len(b) < n {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // amortised growth
		}
		chunk := b[len(b):min(cap(b), n)]
		if r.fillHook != nil {
			r.fillHook()
		}
		m, err := io.ReadAtLeast(r.r, chunk, 1)
		b = b[:len(b)+m]
		if err != nil && len(b) < n {
			return nil, err
		}
	}
	if cap(b) <= bigKeep {
		r.big = b[:0]
	} else {
		r.big = nil
	}
	return b[:n:n], nil
}

// truncated turns a clean EOF inside a frame into io.ErrUnexpectedEOF.
func truncated(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
