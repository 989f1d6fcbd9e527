package model

import (
	"encoding/binary"
	"math"
)

// Body key names. The first five are Dragonflow's; the rest are the v2
// extension (see Meta).
const (
	keyTable  = "table"
	keyKey    = "key"
	keyAction = "action"
	keyValue  = "value"
	keyTopic  = "topic"
	keyPubID  = "pub_id"
	keyEpoch  = "epoch"
	keySeq    = "seq"
	keyPubTS  = "pub_ts"
)

// The keys as msgpack fixstr, ready to append.
const (
	encKeyTable  = "\xa5" + keyTable
	encKeyKey    = "\xa3" + keyKey
	encKeyAction = "\xa6" + keyAction
	encKeyValue  = "\xa5" + keyValue
	encKeyTopic  = "\xa5" + keyTopic
	encKeyPubID  = "\xa6" + keyPubID
	encKeyEpoch  = "\xa5" + keyEpoch
	encKeySeq    = "\xa3" + keySeq
	encKeyPubTS  = "\xa6" + keyPubTS
)

// msgpack type bytes used by the codec.
const (
	mpNil      = 0xc0
	mpFixMap   = 0x80
	mpFixStr   = 0xa0
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	fixStrMax  = 31
	fixIntMax  = 0x7f
	negFixMin  = -32
	baseFields = 5
	metaFields = 4
)

// withMeta reports whether the body carries the extension keys.
func withMeta(m Meta, mode WireMode) bool { return mode == WireV2 && !m.IsZero() }

// EncodeBody returns the wire body of u (see AppendBody) in a new slice of
// exactly the right size.
func EncodeBody(u DbUpdate, m Meta, mode WireMode) []byte {
	return AppendBody(make([]byte, 0, bodyLen(u, m, mode)), u, m, mode)
}

// AppendBody appends the wire body of u to dst and returns the extended
// slice. In WireV2 mode a non-zero m adds the extension keys; WireStrict
// ignores m. It does not allocate when dst has enough spare capacity.
//
// A string or Value of 4 GiB or more cannot be represented in msgpack;
// AppendBody panics on one (frames are bounded far below that).
func AppendBody(dst []byte, u DbUpdate, m Meta, mode WireMode) []byte {
	ext := withMeta(m, mode)
	n := baseFields
	if ext {
		n += metaFields
	}
	dst = append(dst, mpFixMap|byte(n))
	dst = append(dst, encKeyTable...)
	dst = appendStr(dst, u.Table)
	dst = append(dst, encKeyKey...)
	dst = appendStrOrNil(dst, u.Key, u.Key == "")
	dst = append(dst, encKeyAction...)
	dst = appendStr(dst, u.Action)
	dst = append(dst, encKeyValue...)
	dst = appendStrOrNil(dst, u.Value, u.Value == nil)
	dst = append(dst, encKeyTopic...)
	dst = appendStrOrNil(dst, u.Topic, u.Topic == "")
	if !ext {
		return dst
	}
	dst = append(dst, encKeyPubID...)
	dst = appendStr(dst, m.PublisherID)
	dst = append(dst, encKeyEpoch...)
	dst = appendUint(dst, m.Epoch)
	dst = append(dst, encKeySeq...)
	dst = appendUint(dst, m.Seq)
	dst = append(dst, encKeyPubTS...)
	return appendInt(dst, m.PublishTime)
}

// bodyLen is the exact length AppendBody adds for these arguments.
func bodyLen(u DbUpdate, m Meta, mode WireMode) int {
	n := 1 + len(encKeyTable) + len(encKeyKey) + len(encKeyAction) + len(encKeyValue) + len(encKeyTopic)
	n += strLen(len(u.Table)) + strOrNilLen(len(u.Key), u.Key == "") + strLen(len(u.Action)) +
		strOrNilLen(len(u.Value), u.Value == nil) + strOrNilLen(len(u.Topic), u.Topic == "")
	if withMeta(m, mode) {
		n += len(encKeyPubID) + len(encKeyEpoch) + len(encKeySeq) + len(encKeyPubTS)
		n += strLen(len(m.PublisherID)) + uintLen(m.Epoch) + uintLen(m.Seq) + intLen(m.PublishTime)
	}
	return n
}

// appendStrOrNil appends nil when isNil, else s as a msgpack str.
func appendStrOrNil[S ~string | ~[]byte](dst []byte, s S, isNil bool) []byte {
	if isNil {
		return append(dst, mpNil)
	}
	return appendStr(dst, s)
}

// appendStr appends s as a msgpack str exactly as msgpack 0.5 does: fixstr,
// then str16, then str32 (never str8, never bin).
func appendStr[S ~string | ~[]byte](dst []byte, s S) []byte {
	n := len(s)
	switch {
	case n <= fixStrMax:
		dst = append(dst, mpFixStr|byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, mpStr16), uint16(n))
	case uint64(n) <= math.MaxUint32:
		dst = binary.BigEndian.AppendUint32(append(dst, mpStr32), uint32(n))
	default:
		panic("model: string of 4 GiB or more cannot be encoded in msgpack")
	}
	return append(dst, s...)
}

// appendUint appends v in the smallest msgpack unsigned encoding.
func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= fixIntMax:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, mpUint8, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, mpUint16), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, mpUint32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, mpUint64), v)
	}
}

// appendInt appends v in the smallest msgpack encoding, as msgpack-python
// does: non-negative values use the unsigned family.
func appendInt(dst []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(dst, uint64(v))
	case v >= negFixMin:
		return append(dst, byte(v))
	case v >= math.MinInt8:
		return append(dst, mpInt8, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, mpInt16), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, mpInt32), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, mpInt64), uint64(v))
	}
}

func strLen(n int) int {
	switch {
	case n <= fixStrMax:
		return 1 + n
	case n <= math.MaxUint16:
		return 3 + n
	default:
		return 5 + n
	}
}

func strOrNilLen(n int, isNil bool) int {
	if isNil {
		return 1
	}
	return strLen(n)
}

func uintLen(v uint64) int {
	switch {
	case v <= fixIntMax:
		return 1
	case v <= math.MaxUint8:
		return 2
	case v <= math.MaxUint16:
		return 3
	case v <= math.MaxUint32:
		return 5
	default:
		return 9
	}
}

func intLen(v int64) int {
	switch {
	case v >= 0:
		return uintLen(uint64(v))
	case v >= negFixMin:
		return 1
	case v >= math.MinInt8:
		return 2
	case v >= math.MinInt16:
		return 3
	case v >= math.MinInt32:
		return 5
	default:
		return 9
	}
}
