package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A subscriber that never reads stalls the reference publisher (blocking
// backpressure), and Publish gives up when its context ends.
func TestRawPublishBlocksOnStuckSubscriber(t *testing.T) {
	pub, err := RawTCP{}.StartPublisher(context.Background())
	require.NoError(t, err)
	defer pub.Close()
	stuck := newCounter(false, true, 0)
	sub, err := RawTCP{}.StartSubscriber(context.Background(), pub.Addr(), stuck)
	require.NoError(t, err)
	defer func() { stuck.unblock(); require.NoError(t, sub.Close()) }()

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	for range rawQueueLen {
		require.NoError(t, pub.Publish(ctx, KindWarmup))
	}
	require.Eventually(t, stuck.ready, time.Second, time.Millisecond)
	for err == nil {
		err = pub.Publish(ctx, KindData)
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, pub.Close())
	require.NoError(t, pub.Close(), "Close is idempotent")
}

// BenchmarkRawTCP1to1 measures the reference's 1→1 delivered rate: b.N
// events, timed until the subscriber has them all.
func BenchmarkRawTCP1to1(b *testing.B) {
	ctx := context.Background()
	s, err := StartSession(ctx, RawTCP{}, SessionConfig{Subs: 1})
	require.NoError(b, err)
	defer s.Close()
	b.SetBytes(EventSize)
	b.ResetTimer()
	for range b.N {
		if err := s.Publish(ctx); err != nil {
			b.Fatal(err)
		}
	}
	for s.Delivered() < uint64(b.N) {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ev/s")
}
