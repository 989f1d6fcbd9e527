package zmq

// Unit tests of the package's pieces (in-package: they reach unexported
// code). The external tests (package zmq_test) own TestMain.

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// bodies is a spread of wire bodies: what model.AppendBody writes (strict
// and v2, every string width, nil fields, integer widths) and what others
// may send (python's msgpack, key orders, bin strings, map16).
func bodies() [][]byte {
	var out [][]byte
	metas := []model.Meta{{}, {PublisherID: "p", Epoch: 1, Seq: 1, PublishTime: 1},
		{PublisherID: strings.Repeat("p", 40), Epoch: math.MaxUint64, Seq: 300, PublishTime: math.MaxInt64},
		{PublisherID: "p", Epoch: 70000, Seq: 1 << 33, PublishTime: -5}}
	ups := []model.DbUpdate{
		{Table: "lport", Key: "k", Action: "set", Value: []byte(`{"id":"k"}`), Topic: "D"},
		{Table: "chassis", Action: "log"},
		{Table: "lswitch", Key: strings.Repeat("k", 40), Action: "create", Value: bytes.Repeat([]byte("v"), 70000), Topic: strings.Repeat("t", 300)},
		{Table: "", Key: "", Action: "delete", Value: []byte{}, Topic: ""},
	}
	for _, u := range ups {
		for _, m := range metas {
			out = append(out, model.EncodeBody(u, m, model.WireV2), model.EncodeBody(u, m, model.WireStrict))
		}
	}
	out = append(out,
		[]byte("\x85\xa5topic\xa1D\xa5table\xa5lport\xa3key\xa1k\xa6action\xa3set\xa5value\xc0"),                                                  // other key order
		[]byte("\x85\xa5table\xc4\x05lport\xa3key\xa1k\xa6action\xa3set\xa5value\xc0\xa5topic\xa1D"),                                              // bin table
		[]byte("\xde\x00\x05\xa5table\xa5lport\xa3key\xa1k\xa6action\xa3set\xa5value\xc0\xa5topic\xa1D"),                                          // map16
		[]byte("\x85\xa5table\xa5lport\xa3key\xa1k\xa6action\xc0\xa5value\xc0\xa5topic\xa1D"),                                                     // nil action
		[]byte("\x85\xa5table\xa5lport\xa3key\xa1k\xa6action\xa3set\xa5value\xc0\xa5topic\xa1Dx"),                                                 // trailing
		[]byte("\x85\xa5table\xd9\x05lport\xa3key\xa1k\xa6action\xa3set\xa5value\xc0\xa5topic\xa1D"),                                              // str8
		[]byte("\x89\xa5table\xa1t\xa3key\xc0\xa6action\xa1a\xa5value\xc0\xa5topic\xc0\xa6pub_id\xa1p\xa5epoch\xd0\x01\xa3seq\x01\xa6pub_ts\x01"), // int8 epoch
		[]byte("\x89\xa5table\xa1t\xa3key\xc0\xa6action\xa1a\xa5value\xc0\xa5topic\xc0\xa6pub_id\xa1p\xa5epoch\x01\xa3seq\x01\xa6pub_ts\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
		nil, []byte{0x85}, []byte{0xc1},
	)
	return out
}

// requireSameDecode asserts the decoder gives what model.DecodeBody gives.
func requireSameDecode(t *testing.T, d *bodyDecoder, b []byte) {
	t.Helper()
	wu, wm, werr := model.DecodeBody(b)
	var gu model.DbUpdate
	var gm model.Meta
	gerr := d.decode(b, &gu, &gm)
	require.Equal(t, werr == nil, gerr == nil, "error: model %v, ours %v", werr, gerr)
	if werr == nil {
		require.Equal(t, wu, gu)
		require.Equal(t, wu.Value == nil, gu.Value == nil, "nil Value")
		require.Equal(t, wm, gm)
	}
}

func TestBodyDecoderMatchesModel(t *testing.T) {
	var d bodyDecoder
	fast := 0
	for _, b := range bodies() {
		requireSameDecode(t, &d, b)
		var u model.DbUpdate
		var m model.Meta
		if d.fast(b, &u, &m) {
			fast++
		}
	}
	require.Greater(t, fast, 25, "the canonical layouts take the fast path")
	// The decoded event does not alias the input.
	b := model.EncodeBody(model.DbUpdate{Table: "t", Key: "k", Action: "a", Value: []byte("vv")}, model.Meta{}, model.WireV2)
	var u model.DbUpdate
	var m model.Meta
	require.NoError(t, d.decode(b, &u, &m))
	for i := range b {
		b[i] = 0
	}
	require.Equal(t, "vv", string(u.Value))
	require.Equal(t, "k", u.Key)
}

// FuzzBodyDecoder: on every input the decoder agrees with model.DecodeBody,
// also right after another input (the decoder reuses what it parsed in the
// previous body: see span).
func FuzzBodyDecoder(f *testing.F) {
	bs := bodies()
	for i, b := range bs {
		f.Add(b, bs[(i+1)%len(bs)])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var d bodyDecoder
		requireSameDecode(t, &d, a)
		requireSameDecode(t, &d, b)
		requireSameDecode(t, &d, a)
	})
}

// TestBodyDecoderSequences decodes every pair of bodies with one decoder,
// in both orders and repeated, so the previous body's spans are hit, partly
// hit and missed.
func TestBodyDecoderSequences(t *testing.T) {
	bs := bodies()
	var d bodyDecoder
	for _, a := range bs {
		for _, b := range bs {
			requireSameDecode(t, &d, a)
			requireSameDecode(t, &d, a)
			requireSameDecode(t, &d, b)
		}
	}
	// Same layout, every field different from the previous body.
	mk := func(table, key, action, topic, pub string, epoch, seq uint64) []byte {
		return model.EncodeBody(model.DbUpdate{Table: table, Key: key, Action: action, Value: []byte("v"), Topic: topic},
			model.Meta{PublisherID: pub, Epoch: epoch, Seq: seq, PublishTime: 7}, model.WireV2)
	}
	seq := [][]byte{
		mk("lport", "k1", "set", "t1", "p1", 1, 1),
		mk("lport", "k1", "set", "t1", "p1", 1, 2),
		mk("lswitch", "k1", "set", "t1", "p1", 1, 3),
		mk("lswitch", "k2", "set", "t1", "p1", 1, 4),
		mk("lswitch", "k2", "create", "t1", "p1", 1, 5),
		mk("lswitch", "k2", "create", "t2", "p1", 1, 6),
		mk("lswitch", "k2", "create", "t2", "p2", 1, 7),
		mk("lswitch", "k2", "create", "t2", "p2", 2, 8),
		model.EncodeBody(model.DbUpdate{Table: "lswitch", Key: "k2", Action: "create", Topic: "t2"}, model.Meta{}, model.WireStrict),
		mk("lswitch", "k2", "create", "t2", "p2", 2, 9),
	}
	for _, b := range seq {
		requireSameDecode(t, &d, b)
	}
}

// TestValueSlab: Values share slabs but never each other's bytes.
func TestValueSlab(t *testing.T) {
	var s valueSlab
	require.NotNil(t, s.clone(nil, 0), "an empty Value is not nil")
	require.Empty(t, s.clone([]byte{}, 100))
	a := s.clone([]byte("aaa"), 100)
	b := s.clone([]byte("bbb"), 100)
	require.Equal(t, len(a), cap(a), "capped: an append reallocates")
	a = append(a, 'x')
	require.Equal(t, "bbb", string(b), "an append to one Value leaves the next alone")
	big := bytes.Repeat([]byte("z"), slabOwn+1)
	require.Equal(t, big, s.clone(big, 0))
	// A quiet connection (nothing read ahead) gets exact-size Values.
	var q valueSlab
	v := q.clone([]byte("12345"), 0)
	require.Equal(t, 5, cap(v))
	require.Zero(t, cap(q.free)-len(q.free), "no slack kept")
}

func TestHeartbeatCodec(t *testing.T) {
	hb := heartbeat{pubID: "pub", epoch: 1 << 40, dropped: 3,
		seqs: []topicSeq{{"b", 7}, {"a", 1 << 33}, {strings.Repeat("t", 40), 200}}}
	got, err := parseHeartbeat(appendHeartbeat(nil, &hb))
	require.NoError(t, err)
	require.Equal(t, hb.pubID, got.pubID)
	require.Equal(t, hb.epoch, got.epoch)
	require.Equal(t, hb.dropped, got.dropped)
	require.ElementsMatch(t, hb.seqs, got.seqs)

	many := heartbeat{pubID: "p"}
	for i := range 20 {
		many.seqs = append(many.seqs, topicSeq{string(rune('a' + i)), uint64(i)})
	}
	got, err = parseHeartbeat(appendHeartbeat(nil, &many))
	require.NoError(t, err)
	require.Len(t, got.seqs, 20)

	for _, bad := range [][]byte{nil, {0x80}, {0x81, 0xa6}, {0x81, 0xa4, 's', 'e', 'q', 's', 0xdf, 0xff, 0xff, 0xff, 0xff},
		append(appendHeartbeat(nil, &hb), 0), {0x81, 0xa1, 'x', 0x90}} {
		_, err := parseHeartbeat(bad)
		require.Error(t, err, "%x", bad)
	}
	// Unknown scalar keys are skipped.
	ext := []byte("\x83\xa6pub_id\xa1p\xa3new\xa5hello\xa4more\xd3\x00\x00\x00\x00\x00\x00\x00\x01")
	got, err = parseHeartbeat(ext)
	require.NoError(t, err)
	require.Equal(t, "p", got.pubID)
}

func FuzzHeartbeat(f *testing.F) {
	f.Add(appendHeartbeat(nil, &heartbeat{pubID: "p", epoch: 1, seqs: []topicSeq{{"D", 5}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		hb, err := parseHeartbeat(b)
		if err != nil {
			return
		}
		again, err := parseHeartbeat(appendHeartbeat(nil, &hb))
		require.NoError(t, err)
		require.Equal(t, hb.pubID, again.pubID)
		require.Len(t, again.seqs, len(hb.seqs))
	})
}

func TestHeartbeatMessage(t *testing.T) {
	info := pubsub.Info{ID: "p", Epoch: 2}
	last := map[string]uint64{"a": 3, "ab": 1, "b": 9}
	match := func(s string) bool { return strings.HasPrefix(s, "a") }
	msg, more := heartbeatMessage(info, last, map[string]uint64{"a": 3}, false, match, 0)
	require.False(t, more)
	r := zmtp.NewReader(bytes.NewReader(msg), 0, 0)
	f, _ := r.ReadFrame()
	require.Equal(t, hbTopic, string(f.Body))
	f, _ = r.ReadFrame()
	hb, err := parseHeartbeat(f.Body)
	require.NoError(t, err)
	require.Equal(t, []topicSeq{{"ab", 1}}, hb.seqs, "only changed topics that match")
	msg, _ = heartbeatMessage(info, last, last, false, match, 0)
	require.Nil(t, msg, "nothing changed")
	msg, _ = heartbeatMessage(info, last, last, true, match, 0)
	require.NotNil(t, msg, "full")
}

func TestPrefixSet(t *testing.T) {
	s := newPrefixSet()
	require.False(t, s.match("D"))
	require.True(t, s.add("D"))
	require.False(t, s.add("D"), "counted twice")
	require.True(t, s.match("D"))
	require.True(t, s.match("Dxyz"))
	require.False(t, s.match("other"))
	require.False(t, s.match(""))
	require.False(t, s.remove("D"), "one reference left")
	require.True(t, s.match("D"))
	require.True(t, s.remove("D"))
	require.False(t, s.match("D"))
	require.False(t, s.remove("D"))
	for i := range 50 { // beyond linearMax: the length-indexed path
		s.add(strings.Repeat("x", i+2) + "y")
	}
	s.add("tenant-")
	require.True(t, s.match("tenant-42"))
	require.True(t, s.match("xxy"))
	require.True(t, s.match("xxyz"))
	require.False(t, s.match("xx"))
	require.False(t, s.match("x"))
	c := s.clone()
	s.add("")
	require.True(t, s.match("anything"), "the empty subscription matches all")
	require.False(t, c.match("anything"), "clones are independent")
	require.True(t, c.match("tenant-1"))
}

func TestArenaMessages(t *testing.T) {
	var a arena
	m := model.Meta{PublisherID: "p", Epoch: 1, Seq: 2, PublishTime: 3}
	for _, size := range []int{0, 10, 200, 300, 5000, 20000, 100000} {
		for _, topic := range []string{"D", strings.Repeat("t", 300)} {
			u := model.DbUpdate{Table: "lport", Key: "k", Action: "set", Value: bytes.Repeat([]byte("v"), size), Topic: topic}
			msg := a.message(topic, &u, &m, model.WireV2)
			require.Equal(t, len(msg), cap(msg), "capped: nobody appends into the chunk")
			r := zmtp.NewReader(bytes.NewReader(msg), 0, 0)
			f1, err := r.ReadFrame()
			require.NoError(t, err)
			require.True(t, f1.More())
			require.Equal(t, topic, string(f1.Body))
			f2, err := r.ReadFrame()
			require.NoError(t, err)
			require.False(t, f2.More())
			require.Equal(t, model.EncodeBody(u, m, model.WireV2), f2.Body)
			require.Zero(t, r.Buffered())
		}
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(10*time.Millisecond, 80*time.Millisecond)
	var cur time.Duration
	for i := range 10 {
		d := b.next()
		cur = min(10*time.Millisecond<<i, 80*time.Millisecond)
		require.GreaterOrEqual(t, d, cur/2)
		require.Less(t, d, cur*3/2)
	}
	b.reset()
	require.Less(t, b.next(), 15*time.Millisecond)
}

func TestParseEndpoint(t *testing.T) {
	for uri, want := range map[string]endpoint{
		"tcp://*:8866":         {"tcp", ":8866"},
		"tcp://10.0.0.1:0":     {"tcp", "10.0.0.1:0"},
		"tcp://[::1]:5":        {"tcp", "[::1]:5"},
		"ipc:///run/df/p.sock": {"unix", "/run/df/p.sock"},
		"ipc://@abstract":      {"unix", "@abstract"},
	} {
		got, err := parseEndpoint(uri)
		require.NoError(t, err, uri)
		require.Equal(t, want, got, uri)
	}
	for _, bad := range []string{"", "tcp:/x:1", "tcp://x", "tcp://x:", "ipc://", "epgm://x:1"} {
		_, err := parseEndpoint(bad)
		require.Error(t, err, bad)
	}
	require.True(t, isWildcard(""))
	require.True(t, isWildcard("0.0.0.0"))
	require.True(t, isWildcard("::"))
	require.False(t, isWildcard("127.0.0.1"))
}

func TestPublisherStatsSubscribed(t *testing.T) {
	st := PublisherStats{Conns: []ConnStats{
		{Subscriptions: []string{"D", "t1"}},
		{Subscriptions: []string{"D"}},
		{},
	}}
	if got := st.Subscribed("D"); got != 2 {
		t.Fatalf("Subscribed(D) = %d, want 2", got)
	}
	if got := st.Subscribed("D", "t1"); got != 1 {
		t.Fatalf("Subscribed(D, t1) = %d, want 1", got)
	}
	if got := st.Subscribed("t"); got != 0 {
		t.Fatalf("Subscribed(t) = %d, want 0 (exact, not prefix)", got)
	}
	if got := st.Subscribed(); got != 3 {
		t.Fatalf("Subscribed() = %d, want 3", got)
	}
}

// BenchmarkBodyDecoder decodes the 300-byte v2 lport body of dfctl bench.
func BenchmarkBodyDecoder(b *testing.B) {
	u := model.DbUpdate{Table: model.TableLogicalPort, Key: "5a0b6a7e-4c1f-4b9e-9d0a-2f6c1e3b7d11", Action: model.ActionSet,
		Topic: model.DefaultTopic, Value: []byte(`{"id":"5a0b6a7e-4c1f-4b9e-9d0a-2f6c1e3b7d11","topic":"2c1d1d4a8e7f4b1c9b3e6f0a5d7c8e9f","macs":["fa:16:3e:8c:2f:01"],"ips":["10.0.0.5"],"version":3,"name":"` + strings.Repeat("p", 40) + `"}`)}
	body := model.EncodeBody(u, model.Meta{PublisherID: "bench-0001", Epoch: uint64(time.Now().UnixNano()), Seq: 1 << 16, PublishTime: time.Now().UnixNano()}, model.WireV2)
	b.Logf("body %d bytes", len(body))
	var d bodyDecoder
	d.ahead = 64 << 10 // as in a busy connection's full read buffer
	items := make([]item, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for i := 0; b.Loop(); i++ {
		it := &items[i%len(items)]
		it.ev = pubsub.Event{}
		if err := d.decode(body, &it.ev.Update, &it.ev.Meta); err != nil {
			b.Fatal(err)
		}
	}
}
