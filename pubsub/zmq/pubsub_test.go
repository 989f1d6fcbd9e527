package zmq_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// TestExactCount: after the subscriptions reached the publisher, 10,000
// events arrive exactly once each, in seq order, at 1 and at 3 subscribers,
// with no gap (the queues hold them all: no loss within the bound).
func TestExactCount(t *testing.T) {
	for _, subs := range []int{1, 3} {
		t.Run(fmt.Sprintf("1to%d", subs), func(t *testing.T) {
			const n = 10_000
			d := fastDriver(zmq.WithSendQueue(2 * n))
			p := startPub(t, d, "pub-exact", "tcp://127.0.0.1:0", pubsub.NewEpoch())
			sinks := make([]*sink, subs)
			for i := range sinks {
				var s *zmq.Subscriber
				s, sinks[i] = startSub(t, d, 2*n, "D")
				register(t, s, p.Info().ID, p.Info().URI)
			}
			waitSubscribed(t, p, subs, "D")
			publishN(t, p, "D", "ev", n)
			for i, sk := range sinks {
				waitUntil(t, fmt.Sprintf("sub %d has %d events", i, n), func() bool {
					return sk.count(func(pubsub.Event) bool { return true }) >= n
				})
				evs, gaps := sk.snapshot()
				require.Len(t, evs, n)
				require.Empty(t, gaps)
				require.Equal(t, uint64(1), evs[0].Meta.Seq)
				requireSeqRun(t, evs)
				for j, ev := range evs {
					require.Equal(t, fmt.Sprintf("ev-%d", j), ev.Update.Key)
					require.Equal(t, "pub-exact", ev.Meta.PublisherID)
					require.Equal(t, p.Info().URI, ev.Endpoint)
				}
			}
		})
	}
}
