package zmq

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// TestBorrowAllocs: with Borrow, decoding and delivering an event
// allocates nothing once the slabs circulate (the steady path of a busy
// subscriber); without it, the Values' slabs are allocated anew. Each run
// decodes a read's worth of events into a source, hands them to the
// inbox and waits until OnEvent saw them all.
func TestBorrowAllocs(t *testing.T) {
	const perRun, runs = 64, 50
	value := func(seq uint64) []byte {
		return fmt.Appendf(nil, `{"id":"port-%d","name":"%s"}`, seq, strings.Repeat("p", 150))
	}
	bodies := make([][]byte, perRun*(runs+2))
	values := make([][]byte, len(bodies)+1) // by seq
	for i := range bodies {
		seq := uint64(i + 1)
		values[seq] = value(seq)
		bodies[i] = model.EncodeBody(model.DbUpdate{Table: model.TableLogicalPort, Key: "port", Action: model.ActionSet,
			Topic: model.DefaultTopic, Value: values[seq]}, model.Meta{PublisherID: "pub", Epoch: 7, Seq: seq, PublishTime: 1}, model.WireV2)
	}
	for _, borrow := range []bool{false, true} {
		t.Run(fmt.Sprintf("borrow=%v", borrow), func(t *testing.T) {
			done := make(chan struct{}, 1)
			var n int
			var bad []uint64
			var first []byte // the first Value, kept past its OnEvent
			in := newInbox(slog.New(slog.DiscardHandler), pubsub.SubscriberConfig{
				OnEvent: func(ev pubsub.Event) {
					if !bytes.Equal(ev.Update.Value, values[ev.Meta.Seq]) && len(bad) < 10 {
						bad = append(bad, ev.Meta.Seq)
					}
					if first == nil {
						first = ev.Update.Value
					}
					if n++; n%perRun == 0 {
						done <- struct{}{}
					}
				},
				QueueSize: 1 << 12, Borrow: borrow,
			}, 0, nil, false)
			defer in.close()
			src := newSource(in, slog.New(slog.DiscardHandler), "pub", "tcp://test", true)
			src.topic = append(src.topic[:0], model.DefaultTopic...)
			next := 0
			run := func() {
				for range perRun {
					src.dec.ahead = 16 << 10 // a busy connection's read
					src.message(bodies[next])
					next++
				}
				src.flush()
				<-done
			}
			allocs := testing.AllocsPerRun(runs, run)
			t.Logf("%.2f allocations per %d events", allocs, perRun)
			require.Empty(t, bad, "Values wrong while OnEvent ran")
			require.Equal(t, (runs+1)*perRun, n)
			if borrow {
				// ≈ 0 per event: at most one stray allocation per run (the
				// runtime's, e.g. a goroutine stack growth), not one per event.
				require.LessOrEqual(t, allocs, 1.0, "borrowed delivery allocates per event")
				require.NotEqual(t, string(value(1)), string(first), "the first Value's memory was not reused")
			} else {
				require.GreaterOrEqual(t, allocs, 2.0, "owned Values need new slabs (64 × ~190 bytes)")
				require.Equal(t, string(value(1)), string(first), "an owned Value changed after delivery")
			}
		})
	}
}

// TestBorrowSlabCounts: a borrowed slab returns to the free list exactly
// when the decoder retired it and every Value in it was released, in
// either order.
func TestBorrowSlabCounts(t *testing.T) {
	var f slabFree
	vs := valueSlab{pool: &f}
	v := bytes.Repeat([]byte("x"), 100)
	a, s1 := vs.lend(v, 0)
	b, s2 := vs.lend(v, 0)
	require.Same(t, s1, s2)
	require.Equal(t, v, a)
	require.Equal(t, len(a), cap(a), "a Value is capped")
	f.release(s1, 1)
	require.Empty(t, f.list, "a slab being filled is never free")
	vs.retire()
	require.Empty(t, f.list, "one Value still out")
	f.release(s1, 1)
	require.Len(t, f.list, 1, "the last release frees it")
	_ = b
	// Retired after every release: free at once.
	_, s3 := vs.lend(v, 0)
	require.Same(t, s1, s3, "the free slab is reused")
	require.Empty(t, f.list)
	f.release(s3, 1)
	vs.retire()
	require.Len(t, f.list, 1)
	// A busier stream does not take a free slab too small for it.
	small := f.list[0]
	_, s4 := vs.lend(v, slabMax)
	require.NotSame(t, small, s4)
	require.Equal(t, slabMax, cap(s4.buf))
	require.Empty(t, f.list)
	// Empty and large Values are not in a slab.
	e, s := vs.lend(nil, 0)
	require.NotNil(t, e)
	require.Nil(t, s)
	_, s = vs.lend(make([]byte, slabOwn+1), 0)
	require.Nil(t, s)
}
