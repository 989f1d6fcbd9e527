package zmq_test

// Throughput 1→1 of the driver with CURVE, to compare with
// BenchmarkPubSub1to1 (NULL), same events and measurement (bench_test.go):
//
//	go test -run '^$' -bench 'PubSub1to1' -benchtime 300000x ./pubsub/zmq/

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func BenchmarkPubSub1to1Curve(b *testing.B) {
	k := newCurveKeys(b)
	// One driver, both roles: the PUB is the server, the SUB the client.
	d := zmq.New(zmq.WithoutHeartbeats(), zmq.WithCurveServer(k.sec, []string{k.pub}),
		zmq.WithCurveClient(k.sec, k.pub, k.pub))
	ctx := context.Background()
	pi, err := d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "bench", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	p := pi.(*zmq.Publisher)
	defer p.Close()
	var delivered, lost atomic.Uint64
	var last atomic.Int64
	s, err := d.NewSubscriber(ctx, pubsub.SubscriberConfig{
		OnEvent: func(pubsub.Event) { stampLast(delivered.Add(1), uint64(b.N), &last) },
		OnGap:   func(g pubsub.Gap) { lost.Add(g.Lost) },
		Topics:  []string{model.DefaultTopic},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.RegisterPublisher(pubsub.Endpoint{PublisherID: "bench", URI: p.Info().URI}); err != nil {
		b.Fatal(err)
	}
	for p.Stats().Subscribed(model.DefaultTopic) < 1 {
		time.Sleep(time.Millisecond)
	}
	u := benchUpdate()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := p.Publish(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	report(b, start, b.N, 1, func() (uint64, uint64) { return delivered.Load(), lost.Load() }, &last)
}
