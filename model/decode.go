package model

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrMalformed is wrapped by every error DecodeBody returns.
var ErrMalformed = errors.New("model: malformed body")

// MaxSkipDepth bounds how deeply arrays and maps may nest inside the value of
// an unknown key. The body map itself is depth 0, so a value at depth 1 may
// contain up to MaxSkipDepth-1 nested levels.
const MaxSkipDepth = 32

// msgpack type bytes only the decoder needs.
const (
	mpFalse    = 0xc2
	mpTrue     = 0xc3
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpExt8     = 0xc7
	mpExt16    = 0xc8
	mpExt32    = 0xc9
	mpFloat32  = 0xca
	mpFloat64  = 0xcb
	mpFixExt1  = 0xd4
	mpFixExt16 = 0xd8
	mpStr8     = 0xd9
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpMap16    = 0xde
	mpMap32    = 0xdf
	mpFixArray = 0x90
	mpNegFix   = 0xe0
	fixLenMask = 0x0f
	fixStrMask = 0x1f
)

// Bits of decoder.seen, one per known key.
const (
	seenTable = 1 << iota
	seenKey
	seenAction
	seenValue
	seenTopic
	seenPubID
	seenEpoch
	seenSeq
	seenPubTS
)

// DecodeBody decodes a wire body (see the package documentation for what it
// accepts). Every error wraps ErrMalformed; on error the results are zero.
func DecodeBody(b []byte) (DbUpdate, Meta, error) {
	d := decoder{b: b}
	u, m, err := d.body()
	if err != nil {
		return DbUpdate{}, Meta{}, err
	}
	return u, m, nil
}

// decoder reads msgpack from b; p is the offset of the next unread byte.
// Every read checks the bytes are there before using a length.
type decoder struct {
	b    []byte
	p    int
	seen uint
}

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s (offset %d)", ErrMalformed, fmt.Sprintf(format, args...), d.p)
}

func (d *decoder) body() (DbUpdate, Meta, error) {
	var (
		u DbUpdate
		m Meta
	)
	n, err := d.mapLen()
	if err != nil {
		return u, m, err
	}
	// Every entry takes at least two bytes, so this loop ends at the end of
	// the input whatever n claims.
	for i := uint64(0); i < n; i++ {
		if err := d.entry(&u, &m); err != nil {
			return u, m, err
		}
	}
	switch {
	case d.p != len(d.b):
		return u, m, d.errorf("%d trailing bytes after the map", len(d.b)-d.p)
	case d.seen&seenTable == 0:
		return u, m, d.errorf("missing %q", keyTable)
	case d.seen&seenAction == 0:
		return u, m, d.errorf("missing %q", keyAction)
	}
	return u, m, nil
}

// mapLen reads the body's map header.
func (d *decoder) mapLen() (uint64, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&^fixLenMask == mpFixMap:
		return uint64(c & fixLenMask), nil
	case c == mpMap16:
		return d.uintN(2)
	case c == mpMap32:
		return d.uintN(4)
	}
	d.p--
	return 0, d.errorf("body is not a map (type byte 0x%02x)", c)
}

// entry reads one key and its value into u or m.
func (d *decoder) entry(u *DbUpdate, m *Meta) error {
	name, ok, err := d.str()
	if err != nil {
		return err
	}
	if !ok { // not a string key: skip it and its value
		if err := d.skip(1); err != nil {
			return err
		}
		return d.skip(1)
	}
	bit, ok := knownKeyBit(name)
	if !ok {
		return d.skip(1)
	}
	if d.seen&bit != 0 {
		return d.errorf("duplicate key %q", name)
	}
	d.seen |= bit
	switch bit {
	case seenTable:
		return d.strField(keyTable, &u.Table)
	case seenKey:
		return d.strField(keyKey, &u.Key)
	case seenAction:
		return d.action(&u.Action)
	case seenValue:
		return d.value(&u.Value)
	case seenTopic:
		return d.strField(keyTopic, &u.Topic)
	case seenPubID:
		return d.strField(keyPubID, &m.PublisherID)
	case seenEpoch:
		return d.uintField(keyEpoch, &m.Epoch)
	case seenSeq:
		return d.uintField(keySeq, &m.Seq)
	default:
		return d.intField(keyPubTS, &m.PublishTime)
	}
}

// knownKeyBit maps a key name to its seen bit.
func knownKeyBit(name []byte) (uint, bool) {
	switch string(name) {
	case keyTable:
		return seenTable, true
	case keyKey:
		return seenKey, true
	case keyAction:
		return seenAction, true
	case keyValue:
		return seenValue, true
	case keyTopic:
		return seenTopic, true
	case keyPubID:
		return seenPubID, true
	case keyEpoch:
		return seenEpoch, true
	case keySeq:
		return seenSeq, true
	case keyPubTS:
		return seenPubTS, true
	}
	return 0, false
}

// strField reads a str, bin or nil (→ "") value into *dst.
func (d *decoder) strField(name string, dst *string) error {
	s, isNil, err := d.strOrNil(name)
	if err == nil && !isNil {
		*dst = intern(s)
	}
	return err
}

// action reads the action: a str or bin, never nil.
func (d *decoder) action(dst *string) error {
	s, ok, err := d.str()
	switch {
	case err != nil:
		return err
	case !ok:
		return d.wrongType(keyAction, "str or bin")
	}
	*dst = intern(s)
	return nil
}

// value reads the Value: nil stays nil, anything else is copied.
func (d *decoder) value(dst *[]byte) error {
	s, isNil, err := d.strOrNil(keyValue)
	if err == nil && !isNil {
		*dst = append(make([]byte, 0, len(s)), s...)
	}
	return err
}

func (d *decoder) strOrNil(name string) (s []byte, isNil bool, err error) {
	if d.p < len(d.b) && d.b[d.p] == mpNil {
		d.p++
		return nil, true, nil
	}
	s, ok, err := d.str()
	if err == nil && !ok {
		err = d.wrongType(name, "str, bin or nil")
	}
	return s, false, err
}

// str reads a str or bin in any width. ok is false, with nothing consumed,
// when the next value is of another type.
func (d *decoder) str() (s []byte, ok bool, err error) {
	c, err := d.byte()
	if err != nil {
		return nil, false, err
	}
	var n uint64
	switch {
	case c&^fixStrMask == mpFixStr:
		n = uint64(c & fixStrMask)
	case c == mpStr8 || c == mpBin8:
		n, err = d.uintN(1)
	case c == mpStr16 || c == mpBin16:
		n, err = d.uintN(2)
	case c == mpStr32 || c == mpBin32:
		n, err = d.uintN(4)
	default:
		d.p--
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	s, err = d.bytes(n)
	return s, err == nil, err
}

// uintField reads any non-negative msgpack integer, or nil (→ 0).
func (d *decoder) uintField(name string, dst *uint64) error {
	v, neg, err := d.integer(name)
	switch {
	case err != nil:
		return err
	case neg:
		return d.errorf("%q is negative", name)
	}
	*dst = v
	return nil
}

// intField reads any msgpack integer that fits an int64, or nil (→ 0).
func (d *decoder) intField(name string, dst *int64) error {
	v, neg, err := d.integer(name)
	switch {
	case err != nil:
		return err
	case !neg && v > math.MaxInt64:
		return d.errorf("%q overflows int64", name)
	}
	*dst = int64(v) // two's complement: exact for negatives too
	return nil
}

// integer reads a msgpack integer (or nil, read as 0) as its 64-bit pattern;
// neg tells whether it is a negative signed value.
func (d *decoder) integer(name string) (v uint64, neg bool, err error) {
	c, err := d.byte()
	if err != nil {
		return 0, false, err
	}
	switch {
	case c <= fixIntMax:
		return uint64(c), false, nil
	case c >= mpNegFix:
		return uint64(int64(int8(c))), true, nil
	case c == mpNil:
		return 0, false, nil
	case c >= mpUint8 && c <= mpUint64:
		v, err = d.uintN(1 << (c - mpUint8))
		return v, false, err
	case c >= mpInt8 && c <= mpInt64:
		width := 1 << (c - mpInt8)
		v, err = d.uintN(width)
		if err != nil {
			return 0, false, err
		}
		shift := 64 - 8*width
		s := int64(v<<shift) >> shift // sign-extend
		return uint64(s), s < 0, nil
	}
	d.p--
	return 0, false, d.wrongType(name, "an integer or nil")
}

func (d *decoder) wrongType(name, want string) error {
	return d.errorf("%q: want %s, got type byte 0x%02x", name, want, d.b[d.p])
}

func (d *decoder) byte() (byte, error) {
	if d.p >= len(d.b) {
		return 0, d.errorf("truncated: want 1 more byte")
	}
	c := d.b[d.p]
	d.p++
	return c, nil
}

// bytes returns the next n bytes, checking first that they are there.
func (d *decoder) bytes(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)-d.p) {
		return nil, d.errorf("truncated: want %d more bytes, have %d", n, len(d.b)-d.p)
	}
	s := d.b[d.p : d.p+int(n)]
	d.p += int(n)
	return s, nil
}

// uintN reads a big-endian unsigned integer of width 1, 2, 4 or 8 bytes.
func (d *decoder) uintN(width int) (uint64, error) {
	s, err := d.bytes(uint64(width))
	if err != nil {
		return 0, err
	}
	switch width {
	case 1:
		return uint64(s[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(s)), nil
	case 4:
		return uint64(binary.BigEndian.Uint32(s)), nil
	default:
		return binary.BigEndian.Uint64(s), nil
	}
}
