package model

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The benchmarks run our codec and, in the same run, vmihailenco/msgpack on
// the same event as a generic map and as a tagged struct. The reference
// sub-benchmarks report "x-model": how many times our ns/op theirs is.

// refBody is the event as vmihailenco's struct codec sees it.
type refBody struct {
	Table  string `msgpack:"table"`
	Key    string `msgpack:"key"`
	Action string `msgpack:"action"`
	Value  string `msgpack:"value"`
	Topic  string `msgpack:"topic"`
}

// codecBench runs fn as the sub-benchmark name. The first one ("model")
// sets the baseline the others report their ratio against.
type codecBench struct {
	bytes    int64
	baseline float64
}

func (c *codecBench) run(b *testing.B, name string, fn func() error) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(c.bytes)
		for b.Loop() {
			if err := fn(); err != nil {
				b.Fatal(err)
			}
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if name == "model" {
			c.baseline = ns
		} else if c.baseline > 0 {
			b.ReportMetric(ns/c.baseline, "x-model")
		}
	})
}

func BenchmarkEncodeBody(b *testing.B) {
	u := lportEvent()
	buf := make([]byte, 0, 512)
	refMap := map[string]any{"table": u.Table, "key": u.Key, "action": u.Action, "value": string(u.Value), "topic": u.Topic}
	refStruct := refBody{u.Table, u.Key, u.Action, string(u.Value), u.Topic}
	c := codecBench{bytes: int64(len(EncodeBody(u, Meta{}, WireStrict)))}

	c.run(b, "model", func() error {
		buf = AppendBody(buf[:0], u, Meta{}, WireStrict)
		return nil
	})
	c.run(b, "vmihailenco-map", func() error {
		_, err := msgpack.Marshal(refMap)
		return err
	})
	c.run(b, "vmihailenco-struct", func() error {
		_, err := msgpack.Marshal(&refStruct)
		return err
	})
}

func BenchmarkDecodeBody(b *testing.B) {
	body := EncodeBody(lportEvent(), Meta{}, WireStrict)
	c := codecBench{bytes: int64(len(body))}

	c.run(b, "model", func() error {
		_, _, err := DecodeBody(body)
		return err
	})
	c.run(b, "vmihailenco-map", func() error {
		var m map[string]any
		return msgpack.Unmarshal(body, &m)
	})
	c.run(b, "vmihailenco-struct", func() error {
		var s refBody
		return msgpack.Unmarshal(body, &s)
	})
}

func BenchmarkEncodeBodyV2(b *testing.B) {
	u := lportEvent()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendBody(buf[:0], u, testMeta, WireV2)
	}
	b.SetBytes(int64(len(buf)))
}
