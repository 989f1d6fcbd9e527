package deliver_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func meta(pub string, epoch, seq uint64) model.Meta {
	return model.Meta{PublisherID: pub, Epoch: epoch, Seq: seq}
}

// open is a closing channel that is never closed.
var open = make(chan struct{})

// next returns the next item, failing the test if none comes.
func next[E any](t *testing.T, q *deliver.Queue[E]) deliver.Item[E] {
	t.Helper()
	it, ok := q.Next(open)
	require.True(t, ok)
	return it
}

// empty checks that Next has nothing to return.
func empty[E any](t *testing.T, q *deliver.Queue[E]) {
	t.Helper()
	closing := make(chan struct{})
	time.AfterFunc(20*time.Millisecond, func() { close(closing) })
	it, ok := q.Next(closing)
	require.False(t, ok, "unexpected item %+v", it)
}

func TestQueueOrderAndKinds(t *testing.T) {
	q := deliver.NewQueue[string](10)
	ran := false
	q.Offer("a", meta("p", 1, 1), "T")
	q.Report(pubsub.Gap{Reason: pubsub.GapReconnect})
	q.Do(func() { ran = true })
	q.Offer("b", meta("p", 1, 2), "T")

	it := next(t, q)
	require.True(t, it.IsEvent())
	require.Equal(t, "a", it.Event)
	it = next(t, q)
	require.False(t, it.IsEvent())
	require.Equal(t, pubsub.GapReconnect, it.Gap.Reason)
	it = next(t, q)
	require.False(t, it.IsEvent())
	it.Ctrl()
	require.True(t, ran)
	require.Equal(t, "b", next(t, q).Event)
	empty(t, q)
	require.Zero(t, q.Dropped())
}

// Only events count against the bound; drops are accounted per
// (publisher, epoch, topic) with the last seq, and reported before the
// next queued event of the same publisher.
func TestQueueOverflowBeforeNextEventOfPublisher(t *testing.T) {
	q := deliver.NewQueue[uint64](2)
	for seq := uint64(1); seq <= 6; seq++ {
		q.Offer(seq, meta("p", 7, seq), "T")
	}
	q.Offer(100, meta("other", 1, 1), "T") // dropped too
	q.Report(pubsub.Gap{Reason: pubsub.GapMalformed})
	q.Do(func() {})
	require.Equal(t, uint64(5), q.Dropped())

	require.Equal(t, uint64(1), next(t, q).Event)
	// Room again: the next event of p is preceded by p's drops only.
	q.Offer(7, meta("p", 7, 7), "T")
	require.Equal(t, uint64(2), next(t, q).Event)
	require.Equal(t, pubsub.GapMalformed, next(t, q).Gap.Reason)
	require.NotNil(t, next(t, q).Ctrl)
	it := next(t, q)
	require.Equal(t, &deliver.Overflow{Key: deliver.Key{Pub: "p", Epoch: 7, Topic: "T"}, Count: 4, Last: 6}, it.Overflow)
	require.Equal(t, uint64(7), next(t, q).Event)
	// other's drops are reported once the queue runs empty.
	it = next(t, q)
	require.Equal(t, &deliver.Overflow{Key: deliver.Key{Pub: "other", Epoch: 1, Topic: "T"}, Count: 1, Last: 1}, it.Overflow)
	empty(t, q)
}

// Drops of different epochs or topics of one publisher are separate
// reports, all queued before that publisher's next event.
func TestQueueOverflowKeys(t *testing.T) {
	q := deliver.NewQueue[int](1)
	q.Offer(0, meta("p", 1, 1), "A")
	q.Offer(1, meta("p", 1, 2), "A")
	q.Offer(2, meta("p", 1, 3), "B")
	q.Offer(3, meta("p", 2, 1), "A")
	require.Equal(t, uint64(3), q.Dropped())
	require.Equal(t, 0, next(t, q).Event)
	q.Offer(4, meta("p", 2, 2), "A")
	got := map[deliver.Key]deliver.Overflow{}
	for range 3 {
		it := next(t, q)
		require.NotNil(t, it.Overflow)
		got[it.Overflow.Key] = *it.Overflow
	}
	require.Equal(t, map[deliver.Key]deliver.Overflow{
		{Pub: "p", Epoch: 1, Topic: "A"}: {Key: deliver.Key{Pub: "p", Epoch: 1, Topic: "A"}, Count: 1, Last: 2},
		{Pub: "p", Epoch: 1, Topic: "B"}: {Key: deliver.Key{Pub: "p", Epoch: 1, Topic: "B"}, Count: 1, Last: 3},
		{Pub: "p", Epoch: 2, Topic: "A"}: {Key: deliver.Key{Pub: "p", Epoch: 2, Topic: "A"}, Count: 1, Last: 1},
	}, got)
	require.Equal(t, 4, next(t, q).Event)
	empty(t, q)
}

func TestQueueForget(t *testing.T) {
	q := deliver.NewQueue[int](1)
	q.Offer(0, meta("p", 1, 1), "A")
	q.Offer(1, meta("p", 1, 2), "A")
	q.Offer(2, meta("p", 1, 3), "B")
	q.Offer(3, meta("r", 1, 1), "A")
	require.Equal(t, 0, next(t, q).Event)

	forgotten := false
	q.Forget(func(k deliver.Key) bool { return k.Pub == "p" }, func() { forgotten = true })
	it := next(t, q)
	require.NotNil(t, it.Ctrl)
	it.Ctrl()
	require.True(t, forgotten)
	// Only r's drops are left; a nil ctrl queues nothing.
	q.Forget(func(k deliver.Key) bool { return k.Topic == "B" }, nil)
	it = next(t, q)
	require.Equal(t, deliver.Key{Pub: "r", Epoch: 1, Topic: "A"}, it.Overflow.Key)
	empty(t, q)
	require.Equal(t, uint64(3), q.Dropped(), "forgetting does not uncount")
}

func TestQueueStop(t *testing.T) {
	q := deliver.NewQueue[int](1)
	q.Offer(0, meta("p", 1, 1), "A")
	q.Offer(1, meta("p", 1, 2), "A")
	q.Stop()
	q.Offer(2, meta("p", 1, 3), "A")
	q.Report(pubsub.Gap{Reason: pubsub.GapReconnect})
	q.Do(func() { t.Error("control step run after Stop") })
	q.Forget(func(deliver.Key) bool { return true }, func() { t.Error("control step run after Stop") })
	empty(t, q)
	require.Equal(t, uint64(1), q.Dropped())
}

func TestQueueNextWaitsAndStops(t *testing.T) {
	q := deliver.NewQueue[int](4)
	got := make(chan int)
	go func() {
		it, ok := q.Next(open)
		if ok {
			got <- it.Event
		}
	}()
	time.Sleep(10 * time.Millisecond)
	q.Offer(42, meta("p", 1, 1), "A")
	select {
	case v := <-got:
		require.Equal(t, 42, v)
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not wake up")
	}

	closing := make(chan struct{})
	ended := make(chan bool)
	go func() {
		_, ok := q.Next(closing)
		ended <- ok
	}()
	close(closing)
	require.False(t, <-ended)

	// A closed closing wins over queued items.
	q.Offer(1, meta("p", 1, 2), "A")
	_, ok := q.Next(closing)
	require.False(t, ok)
}

func TestQueueRun(t *testing.T) {
	q := deliver.NewQueue[int](1)
	var (
		mu  sync.Mutex
		log []string
	)
	add := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	q.Offer(1, meta("p", 1, 1), "A")
	q.Offer(2, meta("p", 1, 2), "A")
	q.Report(pubsub.Gap{Reason: pubsub.GapMalformed, Err: errors.New("x")})
	q.Do(func() { add("ctrl") })
	closing := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		q.Run(closing, deliver.Handler[int]{
			Event:    func(v int) { add("event") },
			Overflow: func(o deliver.Overflow) { add("overflow") },
			Gap:      func(g pubsub.Gap) { add("gap " + string(g.Reason)) },
		})
	}()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(log) == 4
	}, 5*time.Second, time.Millisecond)
	close(closing)
	<-done
	require.Equal(t, []string{"event", "gap " + string(pubsub.GapMalformed), "ctrl", "overflow"}, log)
}

// Concurrent producers: every event is either delivered or counted in
// exactly one overflow report, and a publisher's drops are reported before
// its next delivered event.
func TestQueueConcurrentAccounting(t *testing.T) {
	q := deliver.NewQueue[model.Meta](3)
	const pubs, per = 4, 500
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := string(rune('a' + p))
			for seq := uint64(1); seq <= per; seq++ {
				q.Offer(meta(id, 1, seq), meta(id, 1, seq), "T")
			}
		}()
	}
	// stop closes a little after the producers are done; then what is left
	// is drained with a closing that only ends the wait on an empty queue.
	stop := make(chan struct{})
	go func() { wg.Wait(); time.Sleep(50 * time.Millisecond); close(stop) }()

	next := map[string]uint64{} // per publisher: the seq expected next
	total := uint64(0)
	check := func(it deliver.Item[model.Meta]) {
		switch {
		case it.Overflow != nil:
			o := it.Overflow
			require.Equal(t, next[o.Pub]+o.Count, o.Last, "overflow of %s: consecutive seqs after the last delivered", o.Pub)
			next[o.Pub] = o.Last
			total += o.Count
		case it.IsEvent():
			m := it.Event
			require.Equal(t, next[m.PublisherID]+1, m.Seq, "event of %s: drops reported before it", m.PublisherID)
			next[m.PublisherID] = m.Seq
			total++
		}
	}
	for it, ok := q.Next(stop); ok; it, ok = q.Next(stop) {
		check(it)
	}
	for {
		closing := make(chan struct{})
		timer := time.AfterFunc(50*time.Millisecond, func() { close(closing) })
		it, ok := q.Next(closing)
		timer.Stop()
		if !ok {
			break
		}
		check(it)
	}
	require.Equal(t, uint64(pubs*per), total)
	for p, seq := range next {
		require.Equal(t, uint64(per), seq, p)
	}
}

func TestQueueSize(t *testing.T) {
	on := func(pubsub.Event) {}
	n, err := deliver.QueueSize("drv", pubsub.SubscriberConfig{OnEvent: on})
	require.NoError(t, err)
	require.Equal(t, pubsub.DefaultQueueSize, n)
	n, err = deliver.QueueSize("drv", pubsub.SubscriberConfig{OnEvent: on, QueueSize: 3})
	require.NoError(t, err)
	require.Equal(t, 3, n)
	_, err = deliver.QueueSize("drv", pubsub.SubscriberConfig{OnEvent: on, QueueSize: -1})
	require.EqualError(t, err, "drv: new subscriber: negative QueueSize -1")
	_, err = deliver.QueueSize("drv", pubsub.SubscriberConfig{QueueSize: -1})
	require.EqualError(t, err, "drv: new subscriber: OnEvent is required")
}
