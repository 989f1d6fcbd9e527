package zmq

// Message encoding, once per event.
//
// A published event becomes one immutable byte slice holding the complete
// ZMTP message, [topic frame, body frame], ready to be copied to every
// subscriber's connection as is: the framing is the same for all of them.
// Slices are carved out of large shared chunks, so an event costs no
// allocation of its own; a chunk is garbage once no queue refers to any of its
// messages. Only the owner (under the publisher's lock) appends to a chunk;
// every slice handed out is never written again and is capped so no one can
// append into the chunk behind it.

import (
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

const (
	chunkSize = 64 << 10
	// bigMessage: messages above this get a buffer of their own.
	bigMessage = chunkSize / 4
	// longSlack: room kept in front of the topic frame, so a body that turns
	// out longer than a short frame can take a 9-byte header in place of the
	// 2-byte one by moving the (small) topic frame instead of the body.
	longSlack = 9 - 2
	// bodySlack bounds what AppendBody adds beyond the raw string lengths:
	// map header, 9 fixstr keys, 6 string headers of up to 5 bytes, three
	// integers of up to 9 bytes.
	bodySlack = 1 + 60 + 6*5 + 3*9
)

// arena hands out encoded messages. Not safe for concurrent use.
type arena struct {
	chunk []byte // len = bytes used
}

// bodyBound is an upper bound of the encoded body's length.
func bodyBound(u *model.DbUpdate, m *model.Meta) int {
	return bodySlack + len(u.Table) + len(u.Key) + len(u.Action) + len(u.Value) + len(u.Topic) + len(m.PublisherID)
}

// message encodes [topic, body(u, m)] and returns the complete ZMTP message.
func (a *arena) message(topic string, u *model.DbUpdate, m *model.Meta, mode model.WireMode) []byte {
	need := longSlack + zmtp.HeaderLen(len(topic)) + len(topic) + 9 + bodyBound(u, m)
	var buf []byte
	if need > bigMessage {
		buf = make([]byte, 0, need)
	} else {
		if cap(a.chunk)-len(a.chunk) < need {
			a.chunk = make([]byte, 0, chunkSize)
		}
		buf = a.chunk
	}
	start := len(buf)
	w := start + longSlack
	buf = buf[:w]
	buf = zmtp.AppendFrameHeader(buf, zmtp.FlagMore, len(topic))
	buf = append(buf, topic...)
	topicEnd := len(buf)
	buf = append(buf, 0, 0) // short body header, patched below
	bodyStart := len(buf)
	out := model.AppendBody(buf, *u, *m, mode)
	if cap(out) != cap(buf) {
		// The bound was wrong and append moved the bytes: use the new array
		// as a message of its own rather than corrupt the chunk.
		return a.standalone(topic, out[bodyStart:])
	}
	n := len(out) - bodyStart
	var msg []byte
	if n <= 255 {
		out[topicEnd], out[topicEnd+1] = 0, byte(n)
		msg = out[w:len(out):len(out)]
	} else {
		copy(out[start:], out[w:topicEnd])
		zmtp.AppendFrameHeader(out[start+topicEnd-w:start+topicEnd-w], 0, n)
		msg = out[start:len(out):len(out)]
	}
	if need <= bigMessage {
		a.chunk = out
	}
	return msg
}

// standalone frames topic and body into a new slice.
func (a *arena) standalone(topic string, body []byte) []byte {
	out := make([]byte, 0, 18+len(topic)+len(body))
	out = zmtp.AppendFrame(out, zmtp.FlagMore, []byte(topic))
	return zmtp.AppendFrame(out, 0, body)
}
