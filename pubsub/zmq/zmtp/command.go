package zmtp

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Command names.
const (
	CmdReady     = "READY"
	CmdError     = "ERROR"
	CmdPing      = "PING"
	CmdPong      = "PONG"
	CmdSubscribe = "SUBSCRIBE"
	CmdCancel    = "CANCEL"
)

// Metadata property names this package knows.
const (
	PropSocketType = "Socket-Type"
	PropIdentity   = "Identity"
)

// Limits from the RFCs.
const (
	maxPropName    = 255
	maxIdentity    = 255
	maxPingContext = 16
	maxErrorReason = 255
)

// Command is a decoded command frame. Data aliases the frame body.
type Command struct {
	Name string
	Data []byte
}

// ParseCommand splits a command frame's body into name and data.
func ParseCommand(body []byte) (Command, error) {
	if len(body) < 1 || int(body[0]) == 0 || len(body) < 1+int(body[0]) {
		return Command{}, fmt.Errorf("%w: bad name in %d-byte command", ErrCommand, len(body))
	}
	n := int(body[0])
	return Command{Name: commandName(body[1 : 1+n]), Data: body[1+n:]}, nil
}

// commandName returns the known names without allocating.
func commandName(b []byte) string {
	switch string(b) {
	case CmdPing:
		return CmdPing
	case CmdPong:
		return CmdPong
	case CmdSubscribe:
		return CmdSubscribe
	case CmdCancel:
		return CmdCancel
	case CmdReady:
		return CmdReady
	case CmdError:
		return CmdError
	}
	return string(b)
}

// AppendCommand appends a command frame.
func AppendCommand(dst []byte, name string, data ...[]byte) []byte {
	n := 1 + len(name)
	for _, d := range data {
		n += len(d)
	}
	dst = AppendFrameHeader(dst, FlagCommand, n)
	dst = append(append(dst, byte(len(name))), name...)
	for _, d := range data {
		dst = append(dst, d...)
	}
	return dst
}

// Property is one metadata property of a READY command.
type Property struct {
	Name, Value string
}

// Metadata is a peer's READY properties, keyed by lower-case name (names are
// case-insensitive).
type Metadata map[string]string

// Get returns the property name (any case).
func (m Metadata) Get(name string) string { return m[strings.ToLower(name)] }

// AppendReady appends a READY command carrying props.
func AppendReady(dst []byte, props ...Property) []byte {
	var data []byte
	for _, p := range props {
		data = append(data, byte(len(p.Name)))
		data = append(data, p.Name...)
		data = binary.BigEndian.AppendUint32(data, uint32(len(p.Value)))
		data = append(data, p.Value...)
	}
	return AppendCommand(dst, CmdReady, data)
}

// ParseMetadata decodes READY data: a sequence of (1-byte name length, name,
// 4-byte value length, value).
func ParseMetadata(data []byte) (Metadata, error) {
	md := Metadata{}
	for len(data) > 0 {
		n := int(data[0])
		if n == 0 || len(data) < 1+n+4 {
			return nil, fmt.Errorf("%w: truncated metadata property", ErrCommand)
		}
		name := strings.ToLower(string(data[1 : 1+n]))
		data = data[1+n:]
		vlen := binary.BigEndian.Uint32(data)
		data = data[4:]
		if uint64(vlen) > uint64(len(data)) {
			return nil, fmt.Errorf("%w: metadata value of %d bytes, %d left", ErrCommand, vlen, len(data))
		}
		md[name] = string(data[:vlen])
		data = data[vlen:]
	}
	return md, nil
}

// AppendError appends an ERROR command with reason (cut to 255 bytes).
func AppendError(dst []byte, reason string) []byte {
	if len(reason) > maxErrorReason {
		reason = reason[:maxErrorReason]
	}
	return AppendCommand(dst, CmdError, []byte{byte(len(reason))}, []byte(reason))
}

// ParseError returns an ERROR command's reason.
func ParseError(data []byte) string {
	if len(data) == 0 {
		return ""
	}
	n := min(int(data[0]), len(data)-1)
	return string(data[1 : 1+n])
}

// AppendPing appends a PING command (ZMTP 3.1) with a time-to-live in
// tenths of a second and up to 16 bytes of context the peer echoes.
func AppendPing(dst []byte, ttlDeciseconds uint16, context []byte) []byte {
	if len(context) > maxPingContext {
		context = context[:maxPingContext]
	}
	var ttl [2]byte
	binary.BigEndian.PutUint16(ttl[:], ttlDeciseconds)
	return AppendCommand(dst, CmdPing, ttl[:], context)
}

// ParsePing returns a PING's time-to-live and context.
func ParsePing(data []byte) (ttlDeciseconds uint16, context []byte, err error) {
	if len(data) < 2 {
		return 0, nil, fmt.Errorf("%w: PING of %d bytes", ErrCommand, len(data))
	}
	ctx := data[2:]
	if len(ctx) > maxPingContext {
		ctx = ctx[:maxPingContext]
	}
	return binary.BigEndian.Uint16(data), ctx, nil
}

// AppendPong appends a PONG echoing a PING's context.
func AppendPong(dst []byte, context []byte) []byte {
	return AppendCommand(dst, CmdPong, context)
}

// AppendSubscribe appends a subscription to topic in the form the peer
// understands: a SUBSCRIBE command for a ZMTP 3.1 peer, a subscription
// message (first byte 1) for a 3.0 peer.
func AppendSubscribe(dst []byte, minor31 bool, topic string) []byte {
	return appendSubscription(dst, minor31, true, topic)
}

// AppendCancel appends the cancellation of a subscription to topic: CANCEL
// for a 3.1 peer, a message with first byte 0 for a 3.0 peer.
func AppendCancel(dst []byte, minor31 bool, topic string) []byte {
	return appendSubscription(dst, minor31, false, topic)
}

func appendSubscription(dst []byte, minor31, subscribe bool, topic string) []byte {
	if minor31 {
		name := CmdCancel
		if subscribe {
			name = CmdSubscribe
		}
		return AppendCommand(dst, name, []byte(topic))
	}
	flag := byte(0)
	if subscribe {
		flag = 1
	}
	dst = AppendFrameHeader(dst, 0, 1+len(topic))
	return append(append(dst, flag), topic...)
}

// ParseSubscription recognises a subscription in a frame a subscriber sent:
// a SUBSCRIBE or CANCEL command, or a single-frame message whose first byte
// is 1 (subscribe) or 0 (cancel). ok is false for anything else (other
// commands, other messages), which a publisher ignores.
func ParseSubscription(f Frame) (subscribe bool, topic []byte, ok bool) {
	if f.IsCommand() {
		c, err := ParseCommand(f.Body)
		if err != nil {
			return false, nil, false
		}
		switch c.Name {
		case CmdSubscribe:
			return true, c.Data, true
		case CmdCancel:
			return false, c.Data, true
		}
		return false, nil, false
	}
	if f.More() || len(f.Body) == 0 || f.Body[0] > 1 {
		return false, nil, false
	}
	return f.Body[0] == 1, f.Body[1:], true
}
