package zmtp

// The CURVE message stream: after the handshake, every ZMTP frame travels
// as a MESSAGE command whose box holds a flags byte (MORE, COMMAND) and the
// frame's body. CurveStream.Write takes plain frames, in pieces of any size
// (a frame may span Write calls), and writes each complete frame as a
// MESSAGE, all the frames of one call in one write; CurveStream.Read
// returns plain frame bytes, decrypting every complete MESSAGE already
// buffered before it blocks again, so a reader above sees whole batches.
// Received short nonces must increase; a box that does not open, a plain
// frame, a command other than MESSAGE (an ERROR fails with ErrPeerError)
// ends the stream. The raw buffer grows with the bytes that arrive, up to
// one frame, never with the size a header claims.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"golang.org/x/crypto/nacl/box"
)

const (
	curveReadBuffer = 64 << 10 // raw buffer size for throughput
	curveKeepBuffer = 1 << 20  // a larger buffer is dropped once empty
)

var errNotEstablished = errors.New("zmtp: CURVE stream used before its handshake")

// curveIn is the read side: raw bytes in, plain frames out.
type curveIn struct {
	r          io.Reader
	buf        []byte
	start, end int
	max        uint64 // largest raw frame body
	maxPlain   int
	rerr       error // a read error that came with bytes, for the next fill
	err        error // sticky decoding error

	key   *[32]byte
	nonce [24]byte
	last  uint64
	pend  []byte // plain bytes decrypted and not yet returned
}

// fill reads from r once, with room for need bytes from start.
func (in *curveIn) fill(need int) error {
	if in.rerr != nil {
		return in.rerr
	}
	if in.start == in.end {
		in.start, in.end = 0, 0
		if len(in.buf) > curveKeepBuffer {
			in.buf = make([]byte, curveReadBuffer)
		}
	}
	if len(in.buf)-in.start < need && in.start > 0 {
		in.end = copy(in.buf, in.buf[in.start:in.end])
		in.start = 0
	}
	if in.end == len(in.buf) {
		// Full of bytes that arrived: double, up to the read buffer size or
		// to what the frame at start needs.
		limit := max(need, curveReadBuffer)
		if n := len(in.buf) - in.start; n < limit {
			grown := make([]byte, min(2*max(n, startReadBuffer), limit))
			in.end = copy(grown, in.buf[in.start:in.end])
			in.start = 0
			in.buf = grown
		}
	}
	m, err := in.r.Read(in.buf[in.end:])
	in.end += m
	if m > 0 {
		in.rerr = err
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readRaw returns the next n raw bytes (the greeting), valid until the next
// call.
func (in *curveIn) readRaw(n int) ([]byte, error) {
	for in.end-in.start < n {
		if err := in.fill(n); err != nil {
			if err == io.EOF && in.end > in.start {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	b := in.buf[in.start : in.start+n]
	in.start += n
	return b, nil
}

// peek decodes the frame at start: its flags, body and total size when it
// is all buffered, else need > 0, how many bytes from start it takes to
// know more.
func (in *curveIn) peek() (flags byte, body []byte, total, need int, err error) {
	avail := in.end - in.start
	if avail < shortHeader {
		return 0, nil, 0, shortHeader, nil
	}
	b := in.buf[in.start:in.end]
	flags = b[0]
	if flags&^flagsKnown != 0 {
		return 0, nil, 0, 0, fmt.Errorf("%w: %#02x", ErrFrameFlags, flags)
	}
	hdr, size := shortHeader, uint64(b[1])
	if flags&FlagLong != 0 {
		hdr = longHeader
		if avail < longHeader {
			return 0, nil, 0, longHeader, nil
		}
		size = binary.BigEndian.Uint64(b[1:longHeader])
	}
	if size > in.max {
		return 0, nil, 0, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, in.max)
	}
	total = hdr + int(size)
	if avail < total {
		return 0, nil, 0, total, nil
	}
	return flags, b[hdr:total:total], total, 0, nil
}

// readFrame returns the next raw frame (handshake commands), blocking until
// it is buffered; body is valid until the next call.
func (in *curveIn) readFrame() (byte, []byte, error) {
	for {
		flags, body, total, need, err := in.peek()
		if err != nil {
			return 0, nil, err
		}
		if need == 0 {
			in.start += total
			return flags, body, nil
		}
		if err := in.fill(need); err != nil {
			if err == io.EOF && in.end > in.start {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
	}
}

// Read returns plain ZMTP frame bytes; see the file's contract.
func (s *CurveStream) Read(p []byte) (int, error) {
	if !s.ready {
		return 0, errNotEstablished
	}
	in := &s.in
	if len(in.pend) > 0 {
		n := copy(p, in.pend)
		in.pend = in.pend[n:]
		return n, nil
	}
	if in.err != nil {
		return 0, in.err
	}
	n := 0
	for n < len(p) {
		flags, body, total, need, err := in.peek()
		if err == nil && need > 0 {
			if n > 0 {
				return n, nil // everything buffered is decoded: hand it over
			}
			if err = in.fill(need); err == nil {
				continue
			}
			if err == io.EOF && in.end > in.start {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		var m message
		if err == nil {
			m, err = in.parse(flags, body)
		}
		if err == nil {
			switch whole := m.whole(); {
			case whole <= len(p)-n:
				if err = in.open(m, p[n:n+whole]); err == nil {
					n += whole
				}
			case n > 0:
				return n, nil // the next frame goes to the next call
			default: // larger than p: through pend
				buf := make([]byte, whole)
				if err = in.open(m, buf); err == nil {
					n = copy(p, buf)
					in.pend = buf[n:]
					in.start += total
					return n, nil
				}
			}
		}
		if err != nil {
			in.err = err
			if n > 0 {
				return n, nil // the error comes with the next call
			}
			return 0, err
		}
		in.start += total
	}
	return n, nil
}

// message is a MESSAGE command about to be opened.
type message struct {
	nonce  uint64
	sealed []byte
	size   int // plain frame body
}

// whole is the size of the plain frame: header and body.
func (m message) whole() int { return HeaderLen(m.size) + m.size }

// parse checks a raw frame is a MESSAGE within the limits; an ERROR
// command fails with ErrPeerError.
func (in *curveIn) parse(flags byte, body []byte) (message, error) {
	// libzmq sends MESSAGE in a data frame (no COMMAND flag) and so do we;
	// a COMMAND-flagged one is accepted too, MORE never (it is in the box).
	if flags&FlagMore != 0 {
		return message{}, fmt.Errorf("%w: a MORE frame on a CURVE connection", ErrCommand)
	}
	nonce, sealed, err := parseShortBoxed(body, curveMessage, messageMinSize)
	if err != nil {
		if c, perr := ParseCommand(body); perr == nil && flags&FlagCommand != 0 && c.Name == CmdError {
			return message{}, fmt.Errorf("%w: %q", ErrPeerError, ParseError(c.Data))
		}
		return message{}, err
	}
	if nonce <= in.last {
		return message{}, fmt.Errorf("%w: MESSAGE short nonce %d after %d", ErrCurveCrypto, nonce, in.last)
	}
	m := message{nonce: nonce, sealed: sealed, size: len(sealed) - box.Overhead - 1}
	if m.size > in.maxPlain {
		return message{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, m.size, in.maxPlain)
	}
	return m, nil
}

// open decrypts m into out (m.whole() bytes) as a plain frame.
func (in *curveIn) open(m message, out []byte) error {
	hdr := HeaderLen(m.size)
	binary.BigEndian.PutUint64(in.nonce[16:], m.nonce)
	// [flags][body] decrypts to out[hdr-1:]; the header then overwrites the
	// flags byte (the header's last byte).
	plain, ok := box.OpenAfterPrecomputation(out[hdr-1:hdr-1:len(out)], m.sealed, &in.nonce, in.key)
	if !ok || len(plain) != m.size+1 {
		return fmt.Errorf("%w: MESSAGE box", ErrCurveCrypto)
	}
	in.last = m.nonce
	mflags := plain[0]
	if mflags&^0x03 != 0 {
		return fmt.Errorf("%w: MESSAGE flags %#02x", ErrFrameFlags, mflags)
	}
	zflags := byte(0)
	if mflags&0x01 != 0 {
		zflags |= FlagMore
	}
	if mflags&0x02 != 0 {
		zflags |= FlagCommand
	}
	AppendFrameHeader(out[:0], zflags, m.size)
	return nil
}

// curveOut is the write side: plain frames in, MESSAGE commands out.
type curveOut struct {
	w     io.Writer
	key   *[32]byte
	nonce [24]byte
	next  uint64
	err   error

	hdr     [longHeader]byte
	nhdr    int
	inFrame bool
	need    uint64
	plain   []byte // [flags][body so far] of the current frame
	out     []byte
}

// Write takes plain frame bytes; see the file's contract. A write error is
// sticky: the connection must be closed.
func (s *CurveStream) Write(p []byte) (int, error) {
	if !s.ready {
		return 0, errNotEstablished
	}
	o := &s.out
	if o.err != nil {
		return 0, o.err
	}
	total := len(p)
	for len(p) > 0 {
		if !o.inFrame {
			if o.nhdr == 0 && p[0]&^flagsKnown != 0 {
				o.err = fmt.Errorf("%w: writing %#02x", ErrFrameFlags, p[0])
				return 0, o.err
			}
			first := p[0]
			if o.nhdr > 0 {
				first = o.hdr[0]
			}
			want := shortHeader
			if first&FlagLong != 0 {
				want = longHeader
			}
			k := copy(o.hdr[o.nhdr:want], p)
			o.nhdr += k
			p = p[k:]
			if o.nhdr < want {
				break
			}
			size := uint64(o.hdr[1])
			if want == longHeader {
				size = binary.BigEndian.Uint64(o.hdr[1:longHeader])
			}
			if size > math.MaxInt32 {
				o.err = fmt.Errorf("%w: writing a %d-byte frame", ErrFrameTooLarge, size)
				return 0, o.err
			}
			mflags := byte(0)
			if first&FlagMore != 0 {
				mflags |= 0x01
			}
			if first&FlagCommand != 0 {
				mflags |= 0x02
			}
			o.plain = append(o.plain[:0], mflags)
			o.need, o.nhdr, o.inFrame = size, 0, true
		}
		k := int(min(o.need, uint64(len(p))))
		o.plain = append(o.plain, p[:k]...)
		p = p[k:]
		o.need -= uint64(k)
		if o.need == 0 {
			if err := o.seal(); err != nil {
				o.err = err
				return 0, err
			}
			o.inFrame = false
			if cap(o.plain) > curveKeepBuffer {
				o.plain = nil
			}
		}
	}
	if len(o.out) > 0 {
		_, err := o.w.Write(o.out)
		o.out = o.out[:0]
		if cap(o.out) > curveKeepBuffer {
			o.out = nil
		}
		if err != nil {
			o.err = err
			return 0, err
		}
	}
	return total, nil
}

// seal appends the current frame as a MESSAGE to out.
func (o *curveOut) seal() error {
	if o.next == math.MaxUint64 {
		return fmt.Errorf("%w: short nonces exhausted", ErrCurveCrypto)
	}
	nonce := o.next
	o.next++
	// A data frame, as libzmq sends and expects it (a COMMAND-flagged
	// MESSAGE is ignored by libzmq 4.3 as an unknown command).
	o.out = AppendFrameHeader(o.out, 0, len(curveMessage)+shortNonceSize+box.Overhead+len(o.plain))
	o.out = append(o.out, curveMessage...)
	o.out = binary.BigEndian.AppendUint64(o.out, nonce)
	binary.BigEndian.PutUint64(o.nonce[16:], nonce)
	o.out = box.SealAfterPrecomputation(o.out, o.plain, &o.nonce, o.key)
	return nil
}
