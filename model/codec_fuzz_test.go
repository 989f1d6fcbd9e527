package model

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
)

// FuzzDecodeBody checks that DecodeBody never panics and that whatever it
// accepts survives a v2 re-encode: decoding the re-encoded body gives the
// same event and Meta, and re-encoding that gives the same bytes.
func FuzzDecodeBody(f *testing.F) {
	for _, v := range []string{vectorChassisCreate, vectorLportDelete} {
		b, err := hex.DecodeString(strings.ReplaceAll(v, " ", ""))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(EncodeBody(lportEvent(), testMeta, WireV2))
	f.Add(EncodeBody(DbUpdate{Table: "t", Action: ActionLog, Value: []byte{}}, Meta{Seq: 1}, WireV2))
	for _, v := range everyType {
		f.Add(minimal(fix("x"), v))
	}
	f.Add(cat(fixmap(5), str8("action"), bin8("set"), fix("topic"), nilv, bin16("value"), str32("{}"),
		fix("table"), fix("lport"), fix("key"), str16("p1")))

	f.Fuzz(func(t *testing.T, b []byte) {
		u, m, err := DecodeBody(b)
		if err != nil {
			return
		}
		enc := EncodeBody(u, m, WireV2)
		u2, m2, err := DecodeBody(enc)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v\ninput % x\nre-encoded % x", err, b, enc)
		}
		if !reflect.DeepEqual(u, u2) || m != m2 {
			t.Fatalf("round trip changed the event:\n%#v %#v\n%#v %#v", u, m, u2, m2)
		}
		if enc2 := EncodeBody(u2, m2, WireV2); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not canonical:\n% x\n% x", enc, enc2)
		}
	})
}
