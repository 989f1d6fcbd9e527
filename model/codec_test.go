package model

import (
	"bytes"
	"encoding/hex"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// unhex decodes hex with spaces, as written in dragonflow.md §3.1.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

// Test vectors produced by Dragonflow's own pack_message (dragonflow.md §3.1).
const (
	vectorChassisCreate = "85 a5 7461626c65 a7 63686173736973 a3 6b6579 a2 6331 a6 616374696f6e a6 637265617465 " +
		"a5 76616c7565 ac 7b226964223a20226331227d a5 746f706963 a1 44"
	vectorLportDelete = "85 a5 7461626c65 a5 6c706f7274 a3 6b6579 a2 7031 a6 616374696f6e a6 64656c657465 " +
		"a5 76616c7565 c0 a5 746f706963 a7 74656e616e7431"
)

var (
	updChassisCreate = DbUpdate{Table: "chassis", Key: "c1", Action: ActionCreate, Value: []byte(`{"id": "c1"}`), Topic: DefaultTopic}
	updLportDelete   = DbUpdate{Table: "lport", Key: "p1", Action: ActionDelete, Topic: "tenant1"}
	testMeta         = Meta{PublisherID: "pub-1", Epoch: 1_700_000_000, Seq: 42, PublishTime: 1_700_000_000_123_456_789}
)

func TestDragonflowVectors(t *testing.T) {
	for _, tc := range []struct {
		name string
		hex  string
		u    DbUpdate
	}{
		{"chassis create", vectorChassisCreate, updChassisCreate},
		{"lport delete", vectorLportDelete, updLportDelete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			require.Equal(t, want, EncodeBody(tc.u, Meta{}, WireStrict))
			// A zero Meta adds nothing in v2 either.
			require.Equal(t, want, EncodeBody(tc.u, Meta{}, WireV2))
			// Strict ignores the Meta entirely.
			require.Equal(t, want, EncodeBody(tc.u, testMeta, WireStrict))

			u, m, err := DecodeBody(want)
			require.NoError(t, err)
			require.Equal(t, tc.u, u)
			require.True(t, m.IsZero())
		})
	}
}

func TestEncodeStringWidths(t *testing.T) {
	for _, tc := range []struct {
		n      int
		header string
	}{
		{0, "a0"},
		{31, "bf"},
		{32, "da0020"},
		{40, "da0028"}, // msgpack 0.5 never emits str8
		{255, "da00ff"},
		{65535, "daffff"},
		{65536, "db00010000"},
	} {
		value := bytes.Repeat([]byte("v"), tc.n)
		body := EncodeBody(DbUpdate{Table: "t", Action: "a", Value: value}, Meta{}, WireStrict)
		want := append(unhex(t, "85 a5 7461626c65 a1 74 a3 6b6579 c0 a6 616374696f6e a1 61 a5 76616c7565"+tc.header), value...)
		want = append(want, unhex(t, "a5 746f706963 c0")...)
		require.Equal(t, want, body, "value of %d bytes", tc.n)

		u, _, err := DecodeBody(body)
		require.NoError(t, err)
		require.Equal(t, value, u.Value)
	}
}

func TestEncodeIntegersSmallest(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		want string
	}{
		{0, "00"}, {127, "7f"}, {128, "cc80"}, {255, "ccff"}, {256, "cd0100"},
		{65535, "cdffff"}, {65536, "ce00010000"}, {math.MaxUint32, "ceffffffff"},
		{math.MaxUint32 + 1, "cf0000000100000000"}, {math.MaxInt64, "cf7fffffffffffffff"},
		{-1, "ff"}, {-32, "e0"}, {-33, "d0df"}, {-128, "d080"}, {-129, "d1ff7f"},
		{-32768, "d18000"}, {-32769, "d2ffff7fff"}, {math.MinInt32, "d280000000"},
		{math.MinInt32 - 1, "d3ffffffff7fffffff"}, {math.MinInt64, "d38000000000000000"},
	} {
		require.Equal(t, tc.want, hex.EncodeToString(appendInt(nil, tc.v)), "int %d", tc.v)
		require.Equal(t, len(tc.want)/2, intLen(tc.v))
		if tc.v >= 0 {
			require.Equal(t, tc.want, hex.EncodeToString(appendUint(nil, uint64(tc.v))))
			require.Equal(t, len(tc.want)/2, uintLen(uint64(tc.v)))
		}
	}
	require.Equal(t, "cfffffffffffffffff", hex.EncodeToString(appendUint(nil, math.MaxUint64)))
}

func TestEncodeV2ExtensionKeys(t *testing.T) {
	body := EncodeBody(updChassisCreate, Meta{PublisherID: "p", Epoch: 1, Seq: 200, PublishTime: -5}, WireV2)
	base := unhex(t, vectorChassisCreate)
	require.Equal(t, byte(0x89), body[0])
	require.Equal(t, base[1:], body[1:len(base)], "the five Dragonflow keys come first, unchanged")
	require.Equal(t, "a6"+hex.EncodeToString([]byte("pub_id"))+"a170"+
		"a5"+hex.EncodeToString([]byte("epoch"))+"01"+
		"a3"+hex.EncodeToString([]byte("seq"))+"ccc8"+
		"a6"+hex.EncodeToString([]byte("pub_ts"))+"fb",
		hex.EncodeToString(body[len(base):]))
}

func TestRoundTripMeta(t *testing.T) {
	for _, m := range []Meta{
		testMeta,
		{PublisherID: "only-id"},
		{Seq: 1},
		{Epoch: math.MaxUint64, Seq: math.MaxUint64, PublishTime: math.MinInt64},
		{PublishTime: math.MaxInt64},
	} {
		for _, u := range []DbUpdate{updChassisCreate, updLportDelete, {Table: "", Action: "", Value: []byte{}}} {
			body := EncodeBody(u, m, WireV2)
			gu, gm, err := DecodeBody(body)
			require.NoError(t, err)
			require.Equal(t, u, gu)
			require.Equal(t, m, gm)
		}
	}
}

func TestEmptyValueIsNotNil(t *testing.T) {
	body := EncodeBody(DbUpdate{Table: "t", Action: ActionLog, Value: []byte{}}, Meta{}, WireStrict)
	require.Contains(t, string(body), keyValue+"\xa0")
	u, _, err := DecodeBody(body)
	require.NoError(t, err)
	require.NotNil(t, u.Value)
	require.Empty(t, u.Value)
}

func TestEncodeBodyExactSize(t *testing.T) {
	for _, n := range []int{0, 31, 32, 65535, 65536} {
		long := strings.Repeat("k", n)
		for _, m := range []Meta{{}, testMeta, {PublisherID: long, PublishTime: -1 << 40}} {
			for _, mode := range []WireMode{WireV2, WireStrict} {
				u := DbUpdate{Table: long, Key: long, Action: long, Value: []byte(long), Topic: long}
				b := EncodeBody(u, m, mode)
				require.Len(t, b, cap(b))
			}
		}
	}
}

func TestAppendBodyZeroAllocs(t *testing.T) {
	u := lportEvent()
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(1000, func() {
		buf = AppendBody(buf[:0], u, testMeta, WireV2)
	})
	require.Zero(t, allocs)
}

func TestDecodeAllocs(t *testing.T) {
	body := EncodeBody(lportEvent(), testMeta, WireV2)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, _, err := DecodeBody(body); err != nil {
			t.Fatal(err)
		}
	})
	// Key, Value and pub_id; table, action and topic "D" are interned.
	require.LessOrEqual(t, allocs, 3.0)
}

func TestDecodeValueDoesNotAlias(t *testing.T) {
	body := unhex(t, vectorChassisCreate)
	u, _, err := DecodeBody(body)
	require.NoError(t, err)
	for i := range body {
		body[i] = 0
	}
	require.Equal(t, `{"id": "c1"}`, string(u.Value))
}

func TestParseWireMode(t *testing.T) {
	for _, mode := range []WireMode{WireV2, WireStrict} {
		got, err := ParseWireMode(mode.String())
		require.NoError(t, err)
		require.Equal(t, mode, got)
	}
	_, err := ParseWireMode("V2")
	require.Error(t, err)
	require.Equal(t, "WireMode(7)", WireMode(7).String())
	require.Equal(t, WireV2, WireMode(0), "v2 is the zero value")
}

func TestInternCoversTablesAndActions(t *testing.T) {
	words := append(Tables(), ActionCreate, ActionSet, ActionDelete, ActionUpdate, ActionLog,
		ActionSync, ActionReinitialize, ActionDBRestart, DefaultTopic)
	for _, w := range words {
		b := []byte(w)
		var got string
		require.Zero(t, testing.AllocsPerRun(10, func() { got = intern(b) }), "%q is not interned", w)
		require.Equal(t, w, got)
	}
	require.Equal(t, "other", intern([]byte("other")))
}
