package zmq_test

// Throughput benchmarks of the driver against a raw-TCP fan-out reference
// built the way baselines.md §2 describes it (bounded channel per
// subscriber, a writer per connection behind a 64 KiB bufio.Writer flushing
// when the channel is empty, 4-byte length prefix, 64 KiB bufio.Reader,
// blocking backpressure). Both publish b.N 300-byte events as fast as they
// can; the figure is deliveries per second (summed over subscribers) until
// the last one arrived, plus the share lost (the driver drops per subscriber
// when a queue overflows; the reference blocks instead).
//
//	go test -run '^$' -bench 'PubSub|RawTCP' -benchtime 200000x ./pubsub/zmq/

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// benchUpdate is an lport update whose v2 body is about 300 bytes.
func benchUpdate() model.DbUpdate {
	return model.DbUpdate{Table: model.TableLogicalPort, Key: "5b1f3c2e-8a7d-4e0f-9c61-2d4b7a9e1f03",
		Action: model.ActionSet, Topic: model.DefaultTopic,
		Value: []byte(`{"id":"5b1f3c2e-8a7d-4e0f-9c61-2d4b7a9e1f03","name":"` + strings.Repeat("p", 150) + `","mac":"fa:16:3e:00:00:01"}`)}
}

func BenchmarkPubSub1to1(b *testing.B)  { benchDriver(b, 1, false) }
func BenchmarkPubSub1to50(b *testing.B) { benchDriver(b, 50, false) }

// The same with SubscriberConfig.Borrow (the callback keeps nothing).
func BenchmarkPubSub1to1Borrow(b *testing.B)  { benchDriver(b, 1, true) }
func BenchmarkPubSub1to50Borrow(b *testing.B) { benchDriver(b, 50, true) }
func BenchmarkRawTCP1to1(b *testing.B)        { benchRaw(b, 1) }
func BenchmarkRawTCP1to50(b *testing.B)       { benchRaw(b, 50) }

// report waits until every subscriber has its n events (or accounted
// losses, or no progress for a second) and reports the delivery rate up to
// the last delivery, and the share lost.
func report(b *testing.B, start time.Time, n, subs int, got func() (delivered, lost uint64), last *atomic.Int64) {
	b.Helper()
	want := uint64(n) * uint64(subs)
	prev, prevAt := uint64(0), time.Now()
	for {
		d, l := got()
		if d+l >= want {
			break
		}
		if d != prev {
			prev, prevAt = d, time.Now()
		} else if time.Since(prevAt) > time.Second {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Duration(last.Load() - start.UnixNano())
	d, _ := got()
	b.ReportMetric(float64(d)/el.Seconds(), "deliveries/s")
	b.ReportMetric(100*float64(want-min(d, want))/float64(want), "loss%")
	b.ReportMetric(0, "ns/op")
}

// stampLast records the time of the n-th delivery of want, every 64th one
// and the last: a clock read per event would cost the callback more than
// the delivery itself (for both the driver and the reference).
func stampLast(n, want uint64, last *atomic.Int64) {
	if n%64 == 0 || n >= want {
		last.Store(time.Now().UnixNano())
	}
}

func benchDriver(b *testing.B, subs int, borrow bool) {
	d := zmq.New(zmq.WithoutHeartbeats())
	ctx := context.Background()
	pi, err := d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "bench", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	p := pi.(*zmq.Publisher)
	defer p.Close()
	var delivered, lost atomic.Uint64
	var last atomic.Int64
	for range subs {
		s, err := d.NewSubscriber(ctx, pubsub.SubscriberConfig{
			OnEvent: func(pubsub.Event) { stampLast(delivered.Add(1), uint64(b.N*subs), &last) },
			OnGap:   func(g pubsub.Gap) { lost.Add(g.Lost) },
			Topics:  []string{model.DefaultTopic},
			Borrow:  borrow,
		})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if err := s.RegisterPublisher(pubsub.Endpoint{PublisherID: "bench", URI: p.Info().URI}); err != nil {
			b.Fatal(err)
		}
	}
	for {
		k := 0
		for _, c := range p.Stats().Conns {
			if len(c.Subscriptions) > 0 {
				k++
			}
		}
		if k == subs {
			break
		}
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
	report(b, start, b.N, subs, func() (uint64, uint64) { return delivered.Load(), lost.Load() }, &last)
}

// The raw-TCP reference.

// rawFanout is the reference: per subscriber a TCP connection, a 4096-slot
// channel, a writer behind a 64 KiB bufio.Writer flushing when the channel
// is empty, a reader behind a 64 KiB bufio.Reader calling onMsg; send
// blocks on a full channel.
type rawFanout struct {
	ln    net.Listener
	chans []chan []byte
	conns []net.Conn
	wg    sync.WaitGroup
}

func newRawFanout(tb testing.TB, subs int, onMsg func([]byte)) *rawFanout {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	f := &rawFanout{ln: ln}
	for range subs {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			tb.Fatal(err)
		}
		f.conns = append(f.conns, c, sc)
		ch := make(chan []byte, 4096)
		f.chans = append(f.chans, ch)
		f.wg.Go(func() { // writer
			bw := bufio.NewWriterSize(sc, 64<<10)
			var hdr [4]byte
			for m := range ch {
				binary.BigEndian.PutUint32(hdr[:], uint32(len(m)))
				_, _ = bw.Write(hdr[:])
				_, _ = bw.Write(m)
				if len(ch) == 0 {
					_ = bw.Flush()
				}
			}
			_ = bw.Flush()
		})
		f.wg.Go(func() { // reader
			br := bufio.NewReaderSize(c, 64<<10)
			var hdr [4]byte
			buf := make([]byte, 1024)
			for {
				if _, err := io.ReadFull(br, hdr[:]); err != nil {
					return
				}
				n := binary.BigEndian.Uint32(hdr[:])
				if _, err := io.ReadFull(br, buf[:n]); err != nil {
					return
				}
				onMsg(buf[:n])
			}
		})
	}
	return f
}

func (f *rawFanout) send(buf []byte) {
	for _, ch := range f.chans {
		ch <- buf
	}
}

func (f *rawFanout) close() {
	for _, ch := range f.chans {
		close(ch)
	}
	for _, c := range f.conns {
		_ = c.Close()
	}
	_ = f.ln.Close()
	f.wg.Wait()
}

func benchRaw(b *testing.B, subs int) {
	var delivered atomic.Uint64
	var last atomic.Int64
	f := newRawFanout(b, subs, func(m []byte) {
		_ = binary.BigEndian.Uint64(m[8:16])
		stampLast(delivered.Add(1), uint64(b.N*subs), &last)
	})
	tmpl := make([]byte, 300)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		buf := make([]byte, len(tmpl))
		copy(buf, tmpl)
		binary.BigEndian.PutUint64(buf[0:8], uint64(i))
		binary.BigEndian.PutUint64(buf[8:16], uint64(time.Now().UnixNano()))
		f.send(buf)
	}
	report(b, start, b.N, subs, func() (uint64, uint64) { return delivered.Load(), 0 }, &last)
	b.StopTimer()
	f.close()
}

// Latency at a paced rate (baselines.md a-lat): bursts of 10 events every
// millisecond for b.N bursts; reports p50 and p99 of publish-to-OnEvent.

func BenchmarkLatency1to1(b *testing.B)   { benchLatency(b, false) }
func BenchmarkLatencyRawTCP(b *testing.B) { benchLatency(b, true) }

func benchLatency(b *testing.B, raw bool) {
	var mu sync.Mutex
	var lat []time.Duration
	var sent sync.Map // seq → time
	record := func(seq uint64) {
		if v, ok := sent.Load(seq); ok {
			d := time.Since(v.(time.Time))
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		}
	}
	var publish func(seq uint64)
	var cleanup func()
	if raw {
		publish, cleanup = rawPair(b, record)
	} else {
		publish, cleanup = zmqPair(b, record)
	}
	defer cleanup()
	b.ResetTimer()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	seq := uint64(0)
	for range b.N {
		<-tick.C
		for range 10 {
			seq++
			sent.Store(seq, time.Now())
			publish(seq)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(lat)
		mu.Unlock()
		if n >= int(seq) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("nothing arrived")
	}
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50_µs")
	b.ReportMetric(float64(lat[len(lat)*90/100].Microseconds()), "p90_µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99_µs")
	b.ReportMetric(float64(lat[len(lat)*999/1000].Microseconds()), "p99.9_µs")
	b.ReportMetric(0, "ns/op")
}

func zmqPair(b *testing.B, record func(uint64)) (func(uint64), func()) {
	d := zmq.New()
	ctx := context.Background()
	pi, err := d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "lat", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := d.NewSubscriber(ctx, pubsub.SubscriberConfig{
		OnEvent: func(ev pubsub.Event) { record(ev.Meta.Seq) },
		Topics:  []string{model.DefaultTopic},
	})
	if err != nil {
		b.Fatal(err)
	}
	_ = s.RegisterPublisher(pubsub.Endpoint{PublisherID: "lat", URI: pi.Info().URI})
	p := pi.(*zmq.Publisher)
	for len(p.Stats().Conns) == 0 || len(p.Stats().Conns[0].Subscriptions) == 0 {
		time.Sleep(time.Millisecond)
	}
	u := benchUpdate()
	return func(uint64) { _ = p.Publish(ctx, u) }, func() { _ = s.Close(); _ = p.Close() }
}

func rawPair(b *testing.B, record func(uint64)) (func(uint64), func()) {
	f := newRawFanout(b, 1, func(m []byte) { record(binary.BigEndian.Uint64(m[0:8])) })
	tmpl := make([]byte, 300)
	return func(seq uint64) {
		buf := make([]byte, len(tmpl))
		copy(buf, tmpl)
		binary.BigEndian.PutUint64(buf[0:8], seq)
		f.send(buf)
	}, f.close
}
