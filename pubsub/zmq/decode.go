package zmq

// bodyDecoder decodes the bodies of one connection. Its result is always
// model.DecodeBody's: a fast path reads the canonical layout model.AppendBody
// writes (a fixmap of the five Dragonflow keys, then optionally the four v2
// keys, in that order, strings in the str family, integers in their
// smallest encoding) and reuses the strings that recur from event to event
// (table, action, topic, publisher id) instead of allocating them anew;
// anything else — other key orders, bin strings, nil where the encoder never
// writes one, map16 — goes to model.DecodeBody. FuzzBodyDecoder checks that
// both paths agree on every input the fast path accepts, also right after
// another input.
//
// Decoding is the largest cost of a subscriber, paid once per event and
// subscriber. The fast path skips what repeats from one body of a
// connection to the next (the bytes around the key and the value: table,
// action, topic, publisher id, epoch; see span) with one comparison each,
// and copies the Value into a slab shared with the other events of the same
// read (see valueSlab) instead of an allocation of its own.

import (
	"encoding/binary"
	"math"

	"github.com/dragonflow-go/dragonflow/model"
)

// The canonical layout's map headers and keys, as model.AppendBody writes them.
const (
	fixmap5   = 0x85
	fixmap9   = 0x89
	encTable  = "\xa5table"
	encKey    = "\xa3key"
	encAction = "\xa6action"
	encValue  = "\xa5value"
	encTopic  = "\xa5topic"
	encPubID  = "\xa6pub_id"
	encEpoch  = "\xa5epoch"
	encSeq    = "\xa3seq"
	encPubTS  = "\xa6pub_ts"
)

type bodyDecoder struct {
	tables, actions, topics, pubs strCache
	// keys: object ids recur too (the updates of one port, its status).
	keys strCache
	// head, mid and tail are the spans of the previous body around its key
	// and its value (see span).
	head, mid, tail span
	// vals holds the Values; ahead is set by the reader before each decode
	// (see valueSlab.clone).
	vals  valueSlab
	ahead int
	// slab is the borrowed slab the last decoded Value is in (borrowed
	// mode only; nil otherwise).
	slab *slab
}

// span is a run of body bytes that tends to repeat from one event of a
// publisher to the next, with what parsing it gave: head is the map header
// through the "key" key (table), mid the "action" key through the "value"
// key (action), tail the "topic" key through the "seq" key (topic, pub_id,
// epoch; through the end for a body without the v2 keys). When a body has
// the same bytes at the same place, parsing them would give the same
// results and end at the same offset, so one comparison replaces the parse
// and the cache lookups. The bytes are kept inline: comparing them touches
// the decoder only.
type span struct {
	n        int
	b        [spanMax]byte
	s1, s2   string
	u        uint64
	nil1, v2 bool
}

// spanMax bounds a span (a longer run is parsed every time).
const spanMax = 96

// at reports whether b[p:] starts with the span's bytes.
func (sp *span) at(b []byte, p int) bool {
	return sp.n > 0 && len(b)-p >= sp.n && string(b[p:p+sp.n]) == string(sp.b[:sp.n])
}

// keep records b[from:to] as the span (or forgets it when too long).
func (sp *span) keep(b []byte, from, to int) {
	sp.n = 0
	if to-from <= spanMax {
		sp.n = copy(sp.b[:], b[from:to])
	}
}

// decode sets u and m to what model.DecodeBody(b) returns, decoding in
// place (events are large; copying them costs).
func (d *bodyDecoder) decode(b []byte, u *model.DbUpdate, m *model.Meta) error {
	d.slab = nil
	if d.fast(b, u, m) {
		return nil
	}
	var err error
	*u, *m, err = model.DecodeBody(b)
	return err
}

// fast decodes the canonical layout into the zero u and m; it reports false
// (leaving them zero) for anything else. It is written as straight-line
// code over one offset, with helpers small enough to be inlined: this is
// the per-event, per-subscriber hot path.
func (d *bodyDecoder) fast(b []byte, u *model.DbUpdate, m *model.Meta) bool {
	p, ok := d.parseHead(b)
	if !ok {
		return false
	}
	var key, value []byte
	var keyNil, valueNil bool
	if key, keyNil, p, ok = fastStr(b, p, true); !ok {
		return false
	}
	if p, ok = d.parseMid(b, p); !ok {
		return false
	}
	if value, valueNil, p, ok = fastStr(b, p, true); !ok {
		return false
	}
	if p, ok = d.parseTail(b, p, d.head.v2); !ok {
		return false
	}
	var seq, ts uint64
	if d.head.v2 {
		if seq, p, ok = fastUint(b, p); !ok {
			return false
		}
		if p, ok = fixKey(b, p, encPubTS); !ok {
			return false
		}
		if ts, p, ok = fastUint(b, p); !ok {
			return false
		}
	}
	if p != len(b) || ts > math.MaxInt64 {
		return false
	}
	u.Table = d.head.s1
	if !keyNil {
		u.Key = d.keys.get(key)
	}
	u.Action = d.mid.s1
	if !valueNil {
		if d.vals.pool != nil {
			u.Value, d.slab = d.vals.lend(value, d.ahead)
		} else {
			u.Value = d.vals.clone(value, d.ahead)
		}
	}
	if !d.tail.nil1 {
		u.Topic = d.tail.s1
	}
	if d.head.v2 {
		m.PublisherID = d.tail.s2
		m.Epoch, m.Seq, m.PublishTime = d.tail.u, seq, int64(ts)
	}
	return true
}

// parseHead reads the map header through the "key" key into d.head.
func (d *bodyDecoder) parseHead(b []byte) (int, bool) {
	if d.head.at(b, 0) {
		return d.head.n, true
	}
	d.head.n = 0
	if len(b) == 0 || (b[0] != fixmap5 && b[0] != fixmap9) {
		return 0, false
	}
	p, ok := fixKey(b, 1, encTable)
	if !ok {
		return p, false
	}
	var table []byte
	if table, _, p, ok = fastStr(b, p, false); !ok {
		return p, false
	}
	if p, ok = fixKey(b, p, encKey); !ok {
		return p, false
	}
	d.head.s1, d.head.v2 = d.tables.get(table), b[0] == fixmap9
	d.head.keep(b, 0, p)
	return p, true
}

// parseMid reads the "action" key through the "value" key into d.mid.
func (d *bodyDecoder) parseMid(b []byte, p int) (int, bool) {
	if d.mid.at(b, p) {
		return p + d.mid.n, true
	}
	d.mid.n = 0
	from := p
	q, ok := fixKey(b, p, encAction)
	if !ok {
		return p, false
	}
	var action []byte
	if action, _, q, ok = fastStr(b, q, false); !ok {
		return p, false
	}
	if q, ok = fixKey(b, q, encValue); !ok {
		return p, false
	}
	d.mid.s1 = d.actions.get(action)
	d.mid.keep(b, from, q)
	return q, true
}

// parseTail reads the "topic" key through the "seq" key (v2), or through
// the topic (strict), into d.tail.
func (d *bodyDecoder) parseTail(b []byte, p int, v2 bool) (int, bool) {
	if d.tail.at(b, p) && d.tail.v2 == v2 {
		return p + d.tail.n, true
	}
	d.tail.n = 0
	from := p
	q, ok := fixKey(b, p, encTopic)
	if !ok {
		return p, false
	}
	var topic, pub []byte
	var topicNil bool
	if topic, topicNil, q, ok = fastStr(b, q, true); !ok {
		return p, false
	}
	var epoch uint64
	if v2 {
		if q, ok = fixKey(b, q, encPubID); !ok {
			return p, false
		}
		if pub, _, q, ok = fastStr(b, q, false); !ok {
			return p, false
		}
		if q, ok = fixKey(b, q, encEpoch); !ok {
			return p, false
		}
		if epoch, q, ok = fastUint(b, q); !ok {
			return p, false
		}
		if q, ok = fixKey(b, q, encSeq); !ok {
			return p, false
		}
	}
	t := &d.tail
	t.s1, t.nil1, t.s2, t.u, t.v2 = "", topicNil, "", epoch, v2
	if !topicNil {
		t.s1 = d.topics.get(topic)
	}
	if v2 {
		t.s2 = d.pubs.get(pub)
	}
	t.keep(b, from, q)
	return q, true
}

// fixKey consumes the encoded key k at p.
func fixKey(b []byte, p int, k string) (int, bool) {
	if len(b)-p < len(k) || string(b[p:p+len(k)]) != k {
		return p, false
	}
	return p + len(k), true
}

// fastStr reads a str (fixstr inline; str8, str16, str32 in strN) or, if
// nilOK, a nil, at p.
func fastStr(b []byte, p int, nilOK bool) (s []byte, isNil bool, next int, ok bool) {
	if p >= len(b) {
		return nil, false, p, false
	}
	c := b[p]
	if c&0xe0 == 0xa0 {
		e := p + 1 + int(c&0x1f)
		if e > len(b) {
			return nil, false, p, false
		}
		return b[p+1 : e], false, e, true
	}
	if c == 0xc0 {
		return nil, nilOK, p + 1, nilOK
	}
	s, next, ok = strN(b, p)
	return s, false, next, ok
}

// strN reads a str8, str16 or str32 at p.
func strN(b []byte, p int) ([]byte, int, bool) {
	c := b[p]
	if c < 0xd9 || c > 0xdb {
		return nil, p, false
	}
	n, q, ok := beUint(b, p+1, 1<<(c-0xd9))
	if !ok || uint64(len(b)-q) < n {
		return nil, p, false
	}
	e := q + int(n)
	return b[q:e], e, true
}

// fastUint reads a non-negative integer in the unsigned family at p.
func fastUint(b []byte, p int) (uint64, int, bool) {
	if p >= len(b) {
		return 0, p, false
	}
	c := b[p]
	if c <= 0x7f {
		return uint64(c), p + 1, true
	}
	if c < 0xcc || c > 0xcf {
		return 0, p, false
	}
	return beUint(b, p+1, 1<<(c-0xcc))
}

// beUint reads a big-endian unsigned integer of 1, 2, 4 or 8 bytes at p.
func beUint(b []byte, p, width int) (uint64, int, bool) {
	if len(b)-p < width {
		return 0, p, false
	}
	e := p + width
	switch width {
	case 1:
		return uint64(b[p]), e, true
	case 2:
		return uint64(binary.BigEndian.Uint16(b[p:e])), e, true
	case 4:
		return uint64(binary.BigEndian.Uint32(b[p:e])), e, true
	}
	return binary.BigEndian.Uint64(b[p:e]), e, true
}

// strCache hands out the strings of a field that recur (a handful of tables,
// actions, topics, one publisher per connection) without allocating them
// again: a small round-robin set, compared before converting.
type strCache struct {
	s    [8]string
	next int
}

func (c *strCache) get(b []byte) string {
	if last := c.s[(c.next+len(c.s)-1)%len(c.s)]; last == string(b) {
		return last
	}
	for _, s := range c.s {
		if s == string(b) {
			return s
		}
	}
	s := string(b)
	c.s[c.next] = s
	c.next = (c.next + 1) % len(c.s)
	return s
}
