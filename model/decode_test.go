package model

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// minimal is the smallest valid body: table and action only.
func minimal(extra ...[]byte) []byte {
	n := 2 + len(extra)/2
	return cat(fixmap(n), fix("table"), fix("t"), fix("action"), fix("a"), cat(extra...))
}

func TestDecodePythonKeyOrder(t *testing.T) {
	// Python 2 dict order was arbitrary: the same event with its keys shuffled.
	body := cat(fixmap(5),
		fix("action"), fix("create"),
		fix("topic"), fix("D"),
		fix("value"), fix(`{"id": "c1"}`),
		fix("table"), fix("chassis"),
		fix("key"), fix("c1"),
	)
	u, m, err := DecodeBody(body)
	require.NoError(t, err)
	require.Equal(t, updChassisCreate, u)
	require.True(t, m.IsZero())
}

func TestDecodeStringFamilies(t *testing.T) {
	long := strings.Repeat("x", 300)
	for name, enc := range map[string]func(string) []byte{
		"fixstr": fix, "str8": str8, "str16": str16, "str32": str32,
		"bin8": bin8, "bin16": bin16, "bin32": bin32,
	} {
		t.Run(name, func(t *testing.T) {
			value := "v"
			if name != "fixstr" && name != "str8" && name != "bin8" {
				value = long
			}
			body := cat(fixmap(6),
				enc("table"), enc("lport"),
				enc("key"), enc("p1"),
				enc("action"), enc("update"),
				enc("value"), enc(value),
				enc("topic"), enc("listener_h1"),
				enc("pub_id"), enc("pub"),
			)
			u, m, err := DecodeBody(body)
			require.NoError(t, err)
			require.Equal(t, DbUpdate{Table: "lport", Key: "p1", Action: "update", Value: []byte(value), Topic: "listener_h1"}, u)
			require.Equal(t, Meta{PublisherID: "pub"}, m)
		})
	}
}

func TestDecodeNilsAndAbsentKeys(t *testing.T) {
	body := cat(fixmap(9),
		fix("table"), nilv, fix("key"), nilv, fix("action"), fix("sync"), fix("value"), nilv, fix("topic"), nilv,
		fix("pub_id"), nilv, fix("epoch"), nilv, fix("seq"), nilv, fix("pub_ts"), nilv)
	u, m, err := DecodeBody(body)
	require.NoError(t, err)
	require.Equal(t, DbUpdate{Action: ActionSync}, u)
	require.True(t, m.IsZero())

	u, m, err = DecodeBody(minimal())
	require.NoError(t, err)
	require.Equal(t, DbUpdate{Table: "t", Action: "a"}, u)
	require.True(t, m.IsZero())
}

func TestDecodeIntegerEncodings(t *testing.T) {
	for _, tc := range []struct {
		enc  []byte
		want uint64
	}{
		{raw(0x05), 5},
		{raw(mpUint8, 0xff), 255},
		{raw(mpUint16, 0x01, 0x00), 256},
		{raw(mpUint32, 0, 1, 0, 0), 65536},
		{raw(mpUint64, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 1<<64 - 1},
		{raw(mpInt8, 0x7f), 127},
		{raw(mpInt16, 0x01, 0x00), 256},
		{raw(mpInt32, 0, 1, 0, 0), 65536},
		{raw(mpInt64, 0, 0, 0, 1, 0, 0, 0, 0), 1 << 32},
	} {
		_, m, err := DecodeBody(minimal(fix("seq"), tc.enc, fix("epoch"), tc.enc))
		require.NoError(t, err, "% x", tc.enc)
		require.Equal(t, Meta{Seq: tc.want, Epoch: tc.want}, m)
	}
	for _, tc := range []struct {
		enc  []byte
		want int64
	}{
		{raw(0xff), -1},
		{raw(0xe0), -32},
		{raw(mpInt8, 0x80), -128},
		{raw(mpInt16, 0x80, 0x00), -32768},
		{raw(mpInt32, 0x80, 0, 0, 0), -1 << 31},
		{raw(mpInt64, 0x80, 0, 0, 0, 0, 0, 0, 0), -1 << 63},
		{raw(mpUint64, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), 1<<63 - 1},
	} {
		_, m, err := DecodeBody(minimal(fix("pub_ts"), tc.enc))
		require.NoError(t, err, "% x", tc.enc)
		require.Equal(t, tc.want, m.PublishTime)
	}
}

// everyType holds one encoded value of every msgpack type family.
var everyType = map[string][]byte{
	"nil": nilv, "false": raw(mpFalse), "true": raw(mpTrue),
	"posfixint": raw(0x7f), "negfixint": raw(0xe5),
	"uint8": raw(mpUint8, 1), "uint16": raw(mpUint16, 1, 2), "uint32": raw(mpUint32, 1, 2, 3, 4),
	"uint64": raw(mpUint64, 1, 2, 3, 4, 5, 6, 7, 8),
	"int8":   raw(mpInt8, 1), "int16": raw(mpInt16, 1, 2), "int32": raw(mpInt32, 1, 2, 3, 4),
	"int64":   raw(mpInt64, 1, 2, 3, 4, 5, 6, 7, 8),
	"float32": raw(mpFloat32, 0x3f, 0x80, 0, 0), "float64": raw(mpFloat64, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0),
	"fixstr": fix("table"), "str8": str8("action"), "str16": str16("value"), "str32": str32("x"),
	"bin8": bin8("b"), "bin16": bin16("bb"), "bin32": bin32("bbb"),
	"fixarray": cat(raw(0x93), fix("table"), raw(1), nilv),
	"array16":  cat(raw(mpArray16, 0, 2), raw(0x90), raw(0x80)),
	"array32":  cat(raw(mpArray32, 0, 0, 0, 1), fix("x")),
	"fixmap":   cat(fixmap(2), fix("table"), fix("evil"), fix("action"), raw(0x91, 0x80)),
	"map16":    cat(raw(mpMap16, 0, 1), raw(1), raw(2)),
	"map32":    cat(raw(mpMap32, 0, 0, 0, 1), fix("k"), raw(0x92, mpTrue, mpFalse)),
	"fixext1":  raw(mpFixExt1, 1, 0xaa), "fixext2": raw(mpFixExt1+1, 1, 0xaa, 0xbb),
	"fixext4": raw(mpFixExt1+2, 0xff, 1, 2, 3, 4), "fixext8": raw(mpFixExt1+3, 0xff, 1, 2, 3, 4, 5, 6, 7, 8),
	"fixext16": cat(raw(mpFixExt16, 5), make([]byte, 16)),
	"ext8":     raw(mpExt8, 2, 7, 0xaa, 0xbb), "ext16": raw(mpExt16, 0, 1, 7, 0xaa),
	"ext32": raw(mpExt32, 0, 0, 0, 0, 7),
}

func TestDecodeSkipsUnknownKeysOfEveryType(t *testing.T) {
	for name, v := range everyType {
		t.Run(name, func(t *testing.T) {
			// As the value of an unknown key, before and after the known keys.
			body := cat(fixmap(4), fix("zz"), v, fix("table"), fix("t"), fix("action"), fix("a"), str8("unknown"), v)
			u, m, err := DecodeBody(body)
			require.NoError(t, err)
			require.Equal(t, DbUpdate{Table: "t", Action: "a"}, u)
			require.True(t, m.IsZero())

			// As a non-string key, which is skipped with its value.
			if name == "fixstr" || strings.HasPrefix(name, "str") || strings.HasPrefix(name, "bin") {
				return
			}
			u, _, err = DecodeBody(minimal(v, fix("table")))
			require.NoError(t, err)
			require.Equal(t, "t", u.Table)
		})
	}
}

func TestDecodeNestingLimit(t *testing.T) {
	nested := func(depth int) []byte { // depth arrays around a nil, as a value at depth 1
		b := make([]byte, 0, depth+1)
		for range depth {
			b = append(b, 0x91)
		}
		return append(b, mpNil)
	}
	_, _, err := DecodeBody(minimal(fix("x"), nested(MaxSkipDepth-1)))
	require.NoError(t, err)
	_, _, err = DecodeBody(minimal(fix("x"), nested(MaxSkipDepth)))
	requireMalformed(t, err, "nesting deeper than")
	_, _, err = DecodeBody(minimal(fix("x"), nested(100_000)))
	requireMalformed(t, err, "nesting deeper than")
}

func requireMalformed(t *testing.T, err error, reason string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrMalformed), "%v does not wrap ErrMalformed", err)
	require.Contains(t, err.Error(), reason)
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   []byte
		reason string
	}{
		{"empty", nil, "truncated"},
		{"not a map", raw(0x91, mpNil), "not a map"},
		{"a string", fix("table"), "not a map"},
		{"missing table", cat(fixmap(1), fix("action"), fix("a")), `missing "table"`},
		{"missing action", cat(fixmap(1), fix("table"), fix("t")), `missing "action"`},
		{"table is an int", cat(fixmap(2), fix("table"), raw(1), fix("action"), fix("a")), `"table": want str, bin or nil`},
		{"table is a map", cat(fixmap(2), fix("table"), fixmap(0), fix("action"), fix("a")), `"table": want`},
		{"action is nil", cat(fixmap(2), fix("table"), fix("t"), fix("action"), nilv), `"action": want str or bin`},
		{"value is an array", minimal(fix("value"), raw(0x90)), `"value": want`},
		{"key is true", minimal(fix("key"), raw(mpTrue)), `"key": want`},
		{"topic is an int", minimal(fix("topic"), raw(3)), `"topic": want`},
		{"pub_id is an int", minimal(fix("pub_id"), raw(3)), `"pub_id": want`},
		{"epoch is a float", minimal(fix("epoch"), everyType["float64"]), `"epoch": want an integer or nil`},
		{"seq is a string", minimal(fix("seq"), fix("1")), `"seq": want an integer`},
		{"negative epoch", minimal(fix("epoch"), raw(0xff)), `"epoch" is negative`},
		{"negative seq", minimal(fix("seq"), raw(mpInt64, 0x80, 0, 0, 0, 0, 0, 0, 0)), `"seq" is negative`},
		{"pub_ts overflows", minimal(fix("pub_ts"), raw(mpUint64, 0x80, 0, 0, 0, 0, 0, 0, 0)), `"pub_ts" overflows int64`},
		{"trailing bytes", append(minimal(), 0xc0), "1 trailing bytes"},
		{"two maps", append(minimal(), minimal()...), "trailing bytes"},
		{"duplicate table", minimal(fix("table"), fix("u")), `duplicate key "table"`},
		{"duplicate seq", minimal(fix("seq"), raw(1), str8("seq"), raw(1)), `duplicate key "seq"`},
		{"reserved byte", minimal(fix("x"), raw(0xc1)), "reserved type byte 0xc1"},
		{"str32 claims 4 GiB", minimal(fix("value"), raw(mpStr32, 0xff, 0xff, 0xff, 0xff, 'x')), "truncated: want 4294967295 more bytes"},
		{"map32 claims 4G entries", raw(mpMap32, 0xff, 0xff, 0xff, 0xff, 0xa0, 0xc0), "truncated"},
		{"array32 claims 4G items", minimal(fix("x"), raw(mpArray32, 0xff, 0xff, 0xff, 0xff, 1, 2)), "truncated"},
		{"map32 skip claims 4G", minimal(fix("x"), raw(mpMap32, 0xff, 0xff, 0xff, 0xff, 1, 2)), "truncated"},
		{"ext32 claims 4 GiB", minimal(fix("x"), raw(mpExt32, 0xff, 0xff, 0xff, 0xff, 1)), "truncated"},
		{"truncated fixext16", minimal(fix("x"), raw(mpFixExt16, 1, 2)), "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, m, err := DecodeBody(tc.body)
			requireMalformed(t, err, tc.reason)
			require.Zero(t, u)
			require.Zero(t, m)
		})
	}
}

func TestDecodeEveryPrefixFails(t *testing.T) {
	body := EncodeBody(lportEvent(), testMeta, WireV2)
	for i := range body {
		_, _, err := DecodeBody(body[:i])
		requireMalformed(t, err, "")
	}
}

func TestDecodeHugeClaimsDoNotAllocate(t *testing.T) {
	body := minimal(fix("value"), raw(mpStr32, 0xff, 0xff, 0xff, 0xff, 'x'))
	var err error
	allocs := testing.AllocsPerRun(100, func() { _, _, err = DecodeBody(body) })
	require.Error(t, err)
	require.Less(t, allocs, 10.0) // only the error itself
}
