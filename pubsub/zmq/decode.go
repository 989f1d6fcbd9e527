package zmq

// bodyDecoder decodes the bodies of one connection. Its result is always
// model.DecodeBody's: a fast path reads the canonical layout model.AppendBody
// writes (a fixmap of the five Dragonflow keys, then optionally the four v2
// keys, in that order, strings in the str family, integers in their
// smallest encoding) and reuses the strings that recur from event to event
// (table, action, topic, publisher id) instead of allocating them anew;
// anything else — other key orders, bin strings, nil where the encoder never
// writes one, map16 — goes to model.DecodeBody. FuzzBodyDecoder checks that
// both paths agree on every input the fast path accepts.
//
// Decoding is the largest cost of a subscriber, paid once per event and
// subscriber; the fast path halves it.

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
}

// decode sets u and m to what model.DecodeBody(b) returns, decoding in
// place (events are large; copying them costs).
func (d *bodyDecoder) decode(b []byte, u *model.DbUpdate, m *model.Meta) error {
	if d.fast(b, u, m) {
		return nil
	}
	var err error
	*u, *m, err = model.DecodeBody(b)
	return err
}

// fast decodes the canonical layout into the zero u and m; it reports false
// (leaving them zero) for anything else.
func (d *bodyDecoder) fast(b []byte, u *model.DbUpdate, m *model.Meta) bool {
	r := fastReader{b: b}
	head := r.byte()
	if head != fixmap5 && head != fixmap9 {
		return false
	}
	// The keys are compared as constants, which the compiler turns into a
	// few loads and compares.
	r.key(string(r.peek(len(encTable))) == encTable, len(encTable))
	table, _ := r.str(false)
	r.key(string(r.peek(len(encKey))) == encKey, len(encKey))
	key, keyNil := r.str(true)
	r.key(string(r.peek(len(encAction))) == encAction, len(encAction))
	action, _ := r.str(false)
	r.key(string(r.peek(len(encValue))) == encValue, len(encValue))
	value, valueNil := r.str(true)
	r.key(string(r.peek(len(encTopic))) == encTopic, len(encTopic))
	topic, topicNil := r.str(true)
	var pub []byte
	var epoch, seq, ts uint64
	if head == fixmap9 {
		r.key(string(r.peek(len(encPubID))) == encPubID, len(encPubID))
		pub, _ = r.str(false)
		r.key(string(r.peek(len(encEpoch))) == encEpoch, len(encEpoch))
		epoch = r.uint()
		r.key(string(r.peek(len(encSeq))) == encSeq, len(encSeq))
		seq = r.uint()
		r.key(string(r.peek(len(encPubTS))) == encPubTS, len(encPubTS))
		ts = r.uint()
	}
	if r.bad || r.p != len(b) || ts > math.MaxInt64 {
		return false
	}
	u.Table = d.tables.get(table)
	if !keyNil {
		u.Key = d.keys.get(key)
	}
	u.Action = d.actions.get(action)
	if !valueNil {
		u.Value = append(make([]byte, 0, len(value)), value...)
	}
	if !topicNil {
		u.Topic = d.topics.get(topic)
	}
	if head == fixmap9 {
		*m = model.Meta{PublisherID: d.pubs.get(pub), Epoch: epoch, Seq: seq, PublishTime: int64(ts)}
	}
	return true
}

// fastReader reads the canonical layout; any surprise sets bad.
type fastReader struct {
	b   []byte
	p   int
	bad bool
}

func (r *fastReader) byte() byte {
	if r.bad || r.p >= len(r.b) {
		r.bad = true
		return 0
	}
	c := r.b[r.p]
	r.p++
	return c
}

func (r *fastReader) next(n int) []byte {
	if r.bad || n < 0 || len(r.b)-r.p < n {
		r.bad = true
		return nil
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s
}

// uintN reads a big-endian unsigned integer of 1, 2, 4 or 8 bytes.
func (r *fastReader) uintN(width int) uint64 {
	b := r.next(width)
	if r.bad {
		return 0
	}
	switch width {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	}
	return binary.BigEndian.Uint64(b)
}

// peek returns the next n bytes without consuming them, or nil.
func (r *fastReader) peek(n int) []byte {
	if len(r.b)-r.p < n {
		return nil
	}
	return r.b[r.p : r.p+n]
}

// key consumes an n-byte key that matched (or marks the reader bad).
func (r *fastReader) key(matched bool, n int) {
	if !matched {
		r.bad = true
		return
	}
	r.p += n
}

// str reads a str (fixstr, str8, str16, str32) or, if nilOK, a nil.
func (r *fastReader) str(nilOK bool) (s []byte, isNil bool) {
	c := r.byte()
	var n int
	switch {
	case r.bad:
		return nil, false
	case c&0xe0 == 0xa0:
		n = int(c & 0x1f)
	case c == 0xc0 && nilOK:
		return nil, true
	case c >= 0xd9 && c <= 0xdb:
		n = int(r.uintN(1 << (c - 0xd9)))
	default:
		r.bad = true
		return nil, false
	}
	return r.next(n), false
}

// uint reads a non-negative integer in the unsigned family.
func (r *fastReader) uint() uint64 {
	c := r.byte()
	switch {
	case r.bad:
		return 0
	case c <= 0x7f:
		return uint64(c)
	case c >= 0xcc && c <= 0xcf:
		return r.uintN(1 << (c - 0xcc))
	}
	r.bad = true
	return 0
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
