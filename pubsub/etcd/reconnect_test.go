package etcd_test

import (
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/internal/testutil"
	"github.com/dragonflow-go/dragonflow/model"
	nbetcd "github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
	"github.com/dragonflow-go/dragonflow/pubsub"
	dfetcd "github.com/dragonflow-go/dragonflow/pubsub/etcd"
)

// proxy forwards loopback TCP connections to an upstream address, and can
// cut them: cut closes every forwarded connection and closes new ones at
// once until restore. Its goroutines (the accept loop and two copiers per
// connection) end at Close, which waits for them.
type proxy struct {
	ln       net.Listener
	upstream string
	wg       sync.WaitGroup

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
}

func startProxy(t *testing.T, upstream string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.upstream)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies from src to dst; when either side ends, both are closed.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
	dst.Close()
	src.Close()
}

// Cut closes every forwarded connection; new ones are closed at once.
func (p *proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Restore forwards new connections again.
func (p *proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

func (p *proxy) Close() {
	p.ln.Close()
	p.Cut()
	p.wg.Wait()
}

// brokenWatch is a subscriber of topic connected to etcd through a proxy,
// a publisher connected directly, and a client to compact with.
type brokenWatch struct {
	proxy *proxy
	pub   pubsub.Publisher
	sub   pubsub.Subscriber
	sink  *testutil.Sink
	admin *clientv3.Client
	topic string
}

func newBrokenWatch(t *testing.T) *brokenWatch {
	t.Helper()
	srv := startEtcd(t, embedded.Config{})
	hosts := srv.Endpoints()
	admin, err := nbetcd.New(t.Context(), nbetcd.Options{Endpoints: hosts})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, admin.Close()) })
	b := &brokenWatch{proxy: startProxy(t, hosts[0]), sink: &testutil.Sink{}, admin: admin.Client(), topic: "tenant-1"}
	d := dfetcd.NewDriver()
	b.pub, err = d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: hosts, WireMode: model.WireV2})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.pub.Close()) })
	b.sub, err = d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{
		OnEvent: b.sink.OnEvent, OnGap: b.sink.OnGap, Topics: []string{b.topic},
		Hosts: []string{b.proxy.Addr()}, Logger: testLogger(t),
	})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.sub.Close()) })
	require.NoError(t, b.sub.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: b.pub.Info().URI}))
	return b
}

func (b *brokenWatch) publish(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		u := model.DbUpdate{Table: model.TableLogicalPort, Key: strconv.Itoa(i), Action: model.ActionSet, Topic: b.topic}
		require.NoError(t, b.pub.Publish(t.Context(), u))
	}
}

// keys returns the keys of the delivered events.
func (b *brokenWatch) keys() []string {
	var out []string
	for _, ev := range b.sink.All() {
		out = append(out, ev.Update.Key)
	}
	return out
}

func seqKeys(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(from + i)
	}
	return out
}

// A broken watch stream resumes from the revision after the last one
// received: what was published while the subscriber was cut off arrives,
// exactly, in order, and no gap is reported, since nothing was lost
// (Dragonflow's etcd subscriber never recovered: reference §5.2 item 12).
func TestBrokenStreamResumesWithoutGap(t *testing.T) {
	b := newBrokenWatch(t)
	b.publish(t, 0, 5)
	b.sink.WaitN(t, 10*time.Second, 5, func(pubsub.Event) bool { return true })

	b.proxy.Cut()
	b.publish(t, 5, 20)
	b.proxy.Restore()
	b.sink.WaitN(t, 20*time.Second, 25, func(pubsub.Event) bool { return true })
	b.publish(t, 25, 5)
	evs := b.sink.WaitN(t, 10*time.Second, 30, func(pubsub.Event) bool { return true })

	require.Equal(t, seqKeys(0, 30), b.keys())
	for i, ev := range evs {
		require.Equal(t, uint64(i+1), ev.Meta.Seq)
		require.Equal(t, b.pub.Info().URI, ev.Endpoint)
	}
	require.Empty(t, b.sink.Gaps())
}

// History compacted while the subscriber was cut off cannot be replayed:
// the subscriber reports one GapReconnect of the topic (for every
// publisher), counting the Puts it missed and wrapping etcd's
// ErrCompacted, before anything later; then it resumes after the
// compaction, with no second report of the same loss.
func TestCompactedHistoryIsAGap(t *testing.T) {
	b := newBrokenWatch(t)
	b.publish(t, 0, 3)
	b.sink.WaitN(t, 10*time.Second, 3, func(pubsub.Event) bool { return true })

	b.proxy.Cut()
	b.publish(t, 3, 7)
	compact(t, b.admin)
	b.proxy.Restore()
	require.Eventually(t, func() bool { return len(b.sink.Gaps()) > 0 }, 20*time.Second, 5*time.Millisecond)
	b.publish(t, 10, 5)
	b.sink.WaitN(t, 10*time.Second, 8, func(pubsub.Event) bool { return true })

	gaps := b.sink.Gaps()
	require.Len(t, gaps, 1, "%v", gaps)
	g := gaps[0]
	assert.Equal(t, pubsub.GapReconnect, g.Reason)
	assert.Equal(t, b.topic, g.Topic)
	assert.Empty(t, g.PublisherID, "a compaction concerns every publisher of the topic")
	assert.Equal(t, uint64(7), g.Lost)
	assert.ErrorIs(t, g.Err, rpctypes.ErrCompacted)
	require.Equal(t, append(seqKeys(0, 3), seqKeys(10, 5)...), b.keys())
}

// A compaction that took nothing the subscriber had not received (the
// topic was idle while it was cut off) is no gap.
func TestCompactionWithoutLossIsNoGap(t *testing.T) {
	b := newBrokenWatch(t)
	b.publish(t, 0, 3)
	b.sink.WaitN(t, 10*time.Second, 3, func(pubsub.Event) bool { return true })

	b.proxy.Cut()
	// Other keys move the revision on; the topic's key does not.
	for i := range 5 {
		_, err := b.admin.Put(t.Context(), dfetcd.Key("other"), strconv.Itoa(i))
		require.NoError(t, err)
	}
	compact(t, b.admin)
	b.proxy.Restore()
	b.publish(t, 3, 3)
	b.sink.WaitN(t, 20*time.Second, 6, func(pubsub.Event) bool { return true })
	require.Equal(t, seqKeys(0, 6), b.keys())
	require.Empty(t, b.sink.Gaps())
}
