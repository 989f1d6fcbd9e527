package model

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Hand-built msgpack for decoder tests: each helper returns one encoded
// item; cat joins them.

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func fix(s string) []byte { return append([]byte{mpFixStr | byte(len(s))}, s...) }

// sized encodes a payload after a type byte and a big-endian length of width
// 1, 2 or 4 bytes.
func sized(code byte, width int, payload string) []byte {
	b := []byte{code}
	switch width {
	case 1:
		b = append(b, byte(len(payload)))
	case 2:
		b = binary.BigEndian.AppendUint16(b, uint16(len(payload)))
	default:
		b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	}
	return append(b, payload...)
}

func str8(s string) []byte  { return sized(mpStr8, 1, s) }
func str16(s string) []byte { return sized(mpStr16, 2, s) }
func str32(s string) []byte { return sized(mpStr32, 4, s) }
func bin8(s string) []byte  { return sized(mpBin8, 1, s) }
func bin16(s string) []byte { return sized(mpBin16, 2, s) }
func bin32(s string) []byte { return sized(mpBin32, 4, s) }

func raw(b ...byte) []byte { return b }

func fixmap(n int) []byte { return []byte{mpFixMap | byte(n)} }

var nilv = raw(mpNil)

// lportEvent is the event of the benchmark in dragonflow.md §6: an lport
// "set" with a 225-byte JSON value, whose body is 309 bytes in strict mode.
func lportEvent() DbUpdate {
	value := fmt.Sprintf(`{"id": "%s", "topic": "%s", "lswitch": "%s", "macs": ["fa:16:3e:8c:2f:01"], `+
		`"ips": ["10.0.0.5"], "enabled": true, "version": 3}`,
		"5a0b6a7e-4c1f-4b9e-9d0a-2f6c1e3b7d11", "2c1d1d4a8e7f4b1c9b3e6f0a5d7c8e9f", "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b")
	return DbUpdate{
		Table:  TableLogicalPort,
		Key:    "5a0b6a7e-4c1f-4b9e-9d0a-2f6c1e3b7d11",
		Action: ActionSet,
		Value:  []byte(value),
		Topic:  DefaultTopic,
	}
}
