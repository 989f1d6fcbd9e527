package model

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Property tests against an independent msgpack implementation
// (vmihailenco/msgpack): it writes bodies our decoder must read, and reads
// bodies our encoder writes.

const crossCases = 3000

func newRand(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0x5eed))
}

// randBytes returns random bytes (not necessarily UTF-8) of a length spread
// over every msgpack string width.
func randBytes(r *rand.Rand) []byte {
	var n int
	switch r.IntN(10) {
	case 0:
		n = 0
	case 1, 2, 3, 4:
		n = 1 + r.IntN(31)
	case 5, 6:
		n = 32 + r.IntN(224) // str8 range for vmihailenco
	case 7, 8:
		n = 256 + r.IntN(2000)
	default:
		if r.IntN(20) == 0 {
			n = 65536 + r.IntN(100) // str32
		} else {
			n = r.IntN(64)
		}
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randMeta(r *rand.Rand) Meta {
	if r.IntN(3) == 0 {
		return Meta{}
	}
	return Meta{
		PublisherID: string(randBytes(r)),
		Epoch:       randUint(r),
		Seq:         randUint(r),
		PublishTime: int64(randUint(r)) >> r.IntN(64),
	}
}

// randUint spreads values over every integer width.
func randUint(r *rand.Rand) uint64 { return r.Uint64() >> r.IntN(65) }

func randUpdate(r *rand.Rand) DbUpdate {
	u := DbUpdate{
		Table:  string(randBytes(r)),
		Key:    string(randBytes(r)),
		Action: string(randBytes(r)),
		Topic:  string(randBytes(r)),
	}
	if r.IntN(4) != 0 {
		u.Value = randBytes(r)
	}
	return u
}

// randAny returns a random value of any msgpack type vmihailenco encodes.
func randAny(r *rand.Rand, depth int) any {
	kinds := 11
	if depth >= 4 {
		kinds = 9 // no more containers
	}
	switch r.IntN(kinds) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return -int64(randUint(r) >> 1)
	case 3:
		return randUint(r)
	case 4:
		return r.Float32()
	case 5:
		return r.NormFloat64()
	case 6:
		return string(randBytes(r))
	case 7:
		return randBytes(r)
	case 8:
		return time.Unix(r.Int64N(1<<40), r.Int64N(1e9)) // ext type -1
	case 9:
		a := make([]any, r.IntN(20))
		for i := range a {
			a[i] = randAny(r, depth+1)
		}
		return a
	default:
		m := make(map[string]any)
		for range r.IntN(20) {
			m[string(randBytes(r))] = randAny(r, depth+1)
		}
		return m
	}
}

// entry is one key/value pair written with the independent encoder.
type entry func(*msgpack.Encoder) error

// strEntry writes a string value as str (any width), bin, or nil when the
// value is empty and nilOK.
func strEntry(r *rand.Rand, s []byte, nilOK bool) entry {
	switch {
	case len(s) == 0 && nilOK && r.IntN(2) == 0:
		return (*msgpack.Encoder).EncodeNil
	case r.IntN(3) == 0:
		return func(e *msgpack.Encoder) error { return e.EncodeBytes(s) }
	default:
		return func(e *msgpack.Encoder) error { return e.EncodeString(string(s)) }
	}
}

// uintEntry writes v in a random integer encoding that holds it.
func uintEntry(r *rand.Rand, v uint64) entry {
	return func(e *msgpack.Encoder) error {
		switch {
		case r.IntN(2) == 0:
			return e.EncodeUint(v)
		case v <= math.MaxInt64 && r.IntN(2) == 0:
			return e.EncodeInt64(int64(v))
		case v <= math.MaxUint32 && r.IntN(2) == 0:
			return e.EncodeUint32(uint32(v))
		default:
			return e.EncodeUint64(v)
		}
	}
}

func intEntry(r *rand.Rand, v int64) entry {
	return func(e *msgpack.Encoder) error {
		switch {
		case r.IntN(2) == 0:
			return e.EncodeInt(v)
		case v >= math.MinInt32 && v <= math.MaxInt32 && r.IntN(2) == 0:
			return e.EncodeInt32(int32(v))
		default:
			return e.EncodeInt64(v)
		}
	}
}

// foreignBody writes u and m with the independent encoder: keys in random
// order, as str or bin, absent when zero (sometimes), unknown keys of random
// types mixed in.
func foreignBody(t *testing.T, r *rand.Rand, u DbUpdate, m Meta) []byte {
	type kv struct {
		key   string
		value entry
	}
	optional := func(zero bool) bool { return !zero || r.IntN(2) == 0 }
	kvs := []kv{
		{keyTable, strEntry(r, []byte(u.Table), false)},
		{keyAction, strEntry(r, []byte(u.Action), false)},
	}
	if optional(u.Key == "") {
		kvs = append(kvs, kv{keyKey, strEntry(r, []byte(u.Key), true)})
	}
	if optional(u.Value == nil) {
		if u.Value == nil {
			kvs = append(kvs, kv{keyValue, (*msgpack.Encoder).EncodeNil})
		} else {
			kvs = append(kvs, kv{keyValue, strEntry(r, u.Value, false)})
		}
	}
	if optional(u.Topic == "") {
		kvs = append(kvs, kv{keyTopic, strEntry(r, []byte(u.Topic), true)})
	}
	if optional(m.PublisherID == "") {
		kvs = append(kvs, kv{keyPubID, strEntry(r, []byte(m.PublisherID), true)})
	}
	if optional(m.Epoch == 0) {
		kvs = append(kvs, kv{keyEpoch, uintEntry(r, m.Epoch)})
	}
	if optional(m.Seq == 0) {
		kvs = append(kvs, kv{keySeq, uintEntry(r, m.Seq)})
	}
	if optional(m.PublishTime == 0) {
		kvs = append(kvs, kv{keyPubTS, intEntry(r, m.PublishTime)})
	}
	for range r.IntN(4) {
		v := randAny(r, 1)
		kvs = append(kvs, kv{"x-" + string(randBytes(r)), func(e *msgpack.Encoder) error { return e.Encode(v) }})
	}
	r.Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })

	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	require.NoError(t, e.EncodeMapLen(len(kvs)+1))
	for _, p := range kvs {
		require.NoError(t, strEntry(r, []byte(p.key), false)(e))
		require.NoError(t, p.value(e))
	}
	// A non-string key, skipped with its value.
	require.NoError(t, e.Encode(randAny(r, 1)))
	require.NoError(t, e.Encode(randAny(r, 1)))
	return buf.Bytes()
}

func TestCrossDecodeForeignBodies(t *testing.T) {
	r := newRand(t)
	for i := range crossCases {
		u, m := randUpdate(r), randMeta(r)
		body := foreignBody(t, r, u, m)
		gu, gm, err := DecodeBody(body)
		require.NoError(t, err, "case %d: % x", i, body)
		require.Equal(t, u, gu, "case %d", i)
		require.Equal(t, m, gm, "case %d", i)
	}
}

func TestCrossForeignDecoderReadsOurBodies(t *testing.T) {
	r := newRand(t)
	for i := range crossCases {
		u, m := randUpdate(r), randMeta(r)
		mode := WireMode(r.IntN(2))
		body := EncodeBody(u, m, mode)

		want := []struct {
			key   string
			value any // string, nil, uint64 or int64
		}{
			{keyTable, u.Table}, {keyKey, strOrNil(u.Key)}, {keyAction, u.Action},
			{keyValue, bytesOrNil(u.Value)}, {keyTopic, strOrNil(u.Topic)},
		}
		if mode == WireV2 && !m.IsZero() {
			want = append(want, []struct {
				key   string
				value any
			}{{keyPubID, m.PublisherID}, {keyEpoch, m.Epoch}, {keySeq, m.Seq}, {keyPubTS, m.PublishTime}}...)
		}

		d := msgpack.NewDecoder(bytes.NewReader(body))
		n, err := d.DecodeMapLen()
		require.NoError(t, err)
		require.Len(t, want, n, "case %d", i)
		for _, w := range want {
			key, err := d.DecodeString()
			require.NoError(t, err)
			require.Equal(t, w.key, key, "case %d: key order", i)
			code, err := d.PeekCode()
			require.NoError(t, err)
			require.False(t, code == msgpcode.Str8 || msgpcode.IsBin(code), "case %d: %s encoded as 0x%02x", i, key, code)
			got, err := d.DecodeInterfaceLoose()
			require.NoError(t, err)
			require.Equal(t, normalizeInt(w.value), normalizeInt(got), "case %d: %s", i, key)
		}
		_, err = d.PeekCode()
		require.Error(t, err, "case %d: trailing bytes", i)
	}
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func bytesOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// normalizeInt maps the integer types DecodeInterfaceLoose returns (int64 or
// uint64) and ours to one comparable form.
func normalizeInt(v any) any {
	switch x := v.(type) {
	case int64:
		if x >= 0 {
			return uint64(x)
		}
		return x
	case uint64:
		return x
	}
	return v
}

func TestCrossIntegerEncodingMatches(t *testing.T) {
	r := newRand(t)
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	for range crossCases * 10 {
		v := int64(randUint(r))
		if r.IntN(2) == 0 {
			v = -v
		}
		buf.Reset()
		require.NoError(t, e.EncodeInt(v))
		require.Equal(t, buf.Bytes(), appendInt(nil, v), "%d", v)
	}
}
