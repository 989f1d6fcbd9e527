package zmq_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// TestBorrow: with SubscriberConfig.Borrow, every Value is right while
// OnEvent runs and its memory is written again afterwards (a slice kept
// past OnEvent changes: the contract is real); strings stay valid. Without
// Borrow, a kept Value never changes.
func TestBorrow(t *testing.T) {
	for _, borrow := range []bool{false, true} {
		t.Run(fmt.Sprintf("borrow=%v", borrow), func(t *testing.T) {
			d := fastDriver()
			p := startPub(t, d, "pub-borrow", "tcp://127.0.0.1:0", 1)
			var (
				mu   sync.Mutex
				kept []pubsub.Event // aliased, not copied: what a careless receiver does
				bad  []string
			)
			s, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{
				OnEvent: func(ev pubsub.Event) {
					mu.Lock()
					defer mu.Unlock()
					if want := upd("D", ev.Update.Key).Value; !bytes.Equal(ev.Update.Value, want) {
						bad = append(bad, ev.Update.Key)
					}
					kept = append(kept, ev)
				},
				Topics: []string{"D"}, QueueSize: 1 << 14, Borrow: borrow,
			})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			register(t, s, "pub-borrow", p.Info().URI)
			waitSubscribed(t, p, 1, "D")

			const rounds, perRound = 4, 300
			for r := range rounds {
				publishN(t, p, "D", fmt.Sprintf("r%d", r), perRound)
				waitUntil(t, "round delivered", func() bool {
					mu.Lock()
					defer mu.Unlock()
					return len(kept) == (r+1)*perRound
				})
			}
			mu.Lock()
			defer mu.Unlock()
			require.Empty(t, bad, "Values wrong while OnEvent ran")
			require.Zero(t, s.(*zmq.Subscriber).Stats().Overflow)
			changed := 0
			for i, ev := range kept {
				require.Equal(t, fmt.Sprintf("r%d-%d", i/perRound, i%perRound), ev.Update.Key, "strings stay valid")
				if !bytes.Equal(ev.Update.Value, upd("D", ev.Update.Key).Value) {
					changed++
				}
			}
			if borrow {
				require.Positive(t, changed, "no kept Value was overwritten: borrowed memory is not reused")
			} else {
				require.Zero(t, changed, "an owned Value changed after delivery")
			}
		})
	}
}
