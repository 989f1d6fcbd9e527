package zmq

// Sequence heartbeats: how a v2 subscriber learns about loss at the tail.
//
// A subscriber announces itself as v2 with the READY property X-Df-Version.
// To such peers only, a publisher sends, on the data path and in order with
// the events of that connection, a two-frame message whose topic frame is
// hbTopic (it starts with a NUL byte, which no real topic does, and libzmq or
// Python peers never receive it) and whose body is the msgpack map
//
//	{"pub_id": str, "epoch": uint, "seqs": {topic: last seq, ...}, "dropped": uint}
//
// seqs holds, for topics the connection's subscriptions match, the last seq
// stamped so far; every event with a lower or equal seq was either written to
// this connection before the heartbeat or dropped. dropped is the number of
// events dropped for this connection so far (informational). A subscriber
// feeds each entry to pubsub.Tracker.ObserveHeartbeat: a seq beyond the last
// one it delivered is GapHeartbeat.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// Wire constants of the v2 extension.
const (
	// propVersion is the READY property a v2 peer sends; propPubID carries a
	// publisher's id (informational).
	propVersion = "X-Df-Version"
	propPubID   = "X-Df-Pub-Id"
	v2          = "2"
	hbTopic     = "\x00df.hb"
	// hbMaxTopics caps the topics of one heartbeat; the rest go in the next.
	hbMaxTopics = 4096
)

var errHeartbeat = errors.New("zmq: malformed heartbeat")

// heartbeat is a decoded heartbeat body.
type heartbeat struct {
	pubID   string
	epoch   uint64
	seqs    []topicSeq
	dropped uint64
}

type topicSeq struct {
	topic string
	seq   uint64
}

// heartbeatMessage builds the complete heartbeat message of publisher info:
// for the topics match accepts, the last seq of those that changed since
// prev (all of them when full); nil when there is nothing to say. more
// reports topics left out (beyond hbMaxTopics) for the next round.
func heartbeatMessage(info pubsub.Info, last, prev map[string]uint64, full bool,
	match func(string) bool, dropped uint64) (msg []byte, more bool) {
	hb := heartbeat{pubID: info.ID, epoch: info.Epoch, dropped: dropped}
	for t, s := range last {
		if !full && prev[t] == s {
			continue
		}
		if !match(t) {
			continue
		}
		if len(hb.seqs) == hbMaxTopics {
			more = true
			break
		}
		hb.seqs = append(hb.seqs, topicSeq{t, s})
	}
	if len(hb.seqs) == 0 && !full {
		return nil, more
	}
	msg = zmtp.AppendFrame(nil, zmtp.FlagMore, []byte(hbTopic))
	return zmtp.AppendFrame(msg, 0, appendHeartbeat(nil, &hb)), more
}

// appendHeartbeat appends the msgpack body of hb (topics sorted, so the
// bytes are deterministic).
func appendHeartbeat(dst []byte, hb *heartbeat) []byte {
	sort.Slice(hb.seqs, func(i, j int) bool { return hb.seqs[i].topic < hb.seqs[j].topic })
	dst = append(dst, 0x84)
	dst = mpAppendStr(dst, "pub_id")
	dst = mpAppendStr(dst, hb.pubID)
	dst = mpAppendStr(dst, "epoch")
	dst = mpAppendUint(dst, hb.epoch)
	dst = mpAppendStr(dst, "seqs")
	dst = mpAppendMapHeader(dst, len(hb.seqs))
	for _, ts := range hb.seqs {
		dst = mpAppendStr(dst, ts.topic)
		dst = mpAppendUint(dst, ts.seq)
	}
	dst = mpAppendStr(dst, "dropped")
	return mpAppendUint(dst, hb.dropped)
}

// parseHeartbeat decodes a heartbeat body. Unknown keys with a string,
// integer or nil value are skipped (room for later fields).
func parseHeartbeat(b []byte) (heartbeat, error) {
	d := mpDecoder{b: b}
	var hb heartbeat
	n, err := d.mapLen()
	if err != nil {
		return hb, err
	}
	for range n {
		k, err := d.str()
		if err != nil {
			return hb, err
		}
		switch string(k) {
		case "pub_id":
			s, err := d.str()
			if err != nil {
				return hb, err
			}
			hb.pubID = string(s)
		case "epoch":
			if hb.epoch, err = d.uint(); err != nil {
				return hb, err
			}
		case "dropped":
			if hb.dropped, err = d.uint(); err != nil {
				return hb, err
			}
		case "seqs":
			m, err := d.mapLen()
			if err != nil {
				return hb, err
			}
			if m > uint64(len(d.b)-d.p)/2 {
				return hb, fmt.Errorf("%w: %d seqs in %d bytes", errHeartbeat, m, len(d.b)-d.p)
			}
			hb.seqs = make([]topicSeq, 0, m)
			for range m {
				t, err := d.str()
				if err != nil {
					return hb, err
				}
				s, err := d.uint()
				if err != nil {
					return hb, err
				}
				hb.seqs = append(hb.seqs, topicSeq{string(t), s})
			}
		default:
			if err := d.skipScalar(); err != nil {
				return hb, err
			}
		}
	}
	if d.p != len(d.b) {
		return hb, fmt.Errorf("%w: %d trailing bytes", errHeartbeat, len(d.b)-d.p)
	}
	if hb.pubID == "" {
		return hb, fmt.Errorf("%w: no pub_id", errHeartbeat)
	}
	return hb, nil
}

// Minimal msgpack, for the heartbeat only (bodies use model's codec).

func mpAppendStr(dst []byte, s string) []byte {
	switch n := len(s); {
	case n < 32:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

func mpAppendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
	}
}

func mpAppendMapHeader(dst []byte, n int) []byte {
	if n < 16 {
		return append(dst, 0x80|byte(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

type mpDecoder struct {
	b []byte
	p int
}

func (d *mpDecoder) next(n int) ([]byte, error) {
	if n < 0 || len(d.b)-d.p < n {
		return nil, fmt.Errorf("%w: truncated at %d", errHeartbeat, d.p)
	}
	b := d.b[d.p : d.p+n]
	d.p += n
	return b, nil
}

func (d *mpDecoder) byte() (byte, error) {
	b, err := d.next(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

func (d *mpDecoder) width(w int) (uint64, error) {
	b, err := d.next(w)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

func (d *mpDecoder) mapLen() (uint64, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c&0xf0 == 0x80:
		return uint64(c & 0x0f), nil
	case c == 0xde:
		return d.width(2)
	case c == 0xdf:
		return d.width(4)
	}
	return 0, fmt.Errorf("%w: want a map, got %#02x", errHeartbeat, c)
}

func (d *mpDecoder) str() ([]byte, error) {
	c, err := d.byte()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case c&0xe0 == 0xa0:
		n = uint64(c & 0x1f)
	case c == 0xd9:
		n, err = d.width(1)
	case c == 0xda:
		n, err = d.width(2)
	case c == 0xdb:
		n, err = d.width(4)
	default:
		return nil, fmt.Errorf("%w: want a string, got %#02x", errHeartbeat, c)
	}
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.b)-d.p) {
		return nil, fmt.Errorf("%w: string of %d bytes, %d left", errHeartbeat, n, len(d.b)-d.p)
	}
	return d.next(int(n))
}

func (d *mpDecoder) uint() (uint64, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	switch {
	case c <= 0x7f:
		return uint64(c), nil
	case c == 0xcc:
		return d.width(1)
	case c == 0xcd:
		return d.width(2)
	case c == 0xce:
		return d.width(4)
	case c == 0xcf:
		return d.width(8)
	}
	return 0, fmt.Errorf("%w: want an unsigned integer, got %#02x", errHeartbeat, c)
}

// skipScalar skips a nil, bool, integer or string value.
func (d *mpDecoder) skipScalar() error {
	if d.p >= len(d.b) {
		return fmt.Errorf("%w: truncated at %d", errHeartbeat, d.p)
	}
	c := d.b[d.p]
	switch {
	case c == 0xc0, c == 0xc2, c == 0xc3, c <= 0x7f, c >= 0xe0:
		d.p++
		return nil
	case c >= 0xcc && c <= 0xcf:
		_, err := d.uint()
		return err
	case c >= 0xd0 && c <= 0xd3:
		_, err := d.next(1 + 1<<(c-0xd0))
		return err
	}
	_, err := d.str()
	return err
}
