package zmq

// inbox is a subscriber's (SUB or PULL) delivery queue and its one delivery
// goroutine, which owns the pubsub.Tracker and calls OnEvent and OnGap, in
// order, one at a time.
//
// Connection readers decode events and hand them over in batches (one lock
// round per batch, see source). The queue holds at most limit events and
// heartbeats not yet delivered (queued, or in the batch being delivered);
// what does not fit is dropped and counted (unless WithDeliveryWait lets the
// reader wait, bounded), and the reader puts an overflow marker before its
// next accepted item, so the delivery goroutine reports GapOverflow (per
// topic, with the seqs lost) before the next event of that publisher.
// Control items (a reconnect gap, a change of topics) are never dropped.
// A reader that wakes the idle delivery goroutine, or finds the queue more
// than a quarter full, yields its CPU to it (see handOff, pressedLocked):
// under a steady stream the reader never blocks, and the queue would
// otherwise overflow for want of CPU rather than because OnEvent is slow.
//
// After an overflow, the tracker is moved past the dropped seqs, so the loss
// is reported once, as GapOverflow, not again as GapSeq.

import (
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

type itemKind uint8

const (
	kEvent itemKind = iota
	kHeartbeat
	kGap
	kOverflow
	kTopics
	kForget
	kSeed
)

// item is one entry of the delivery queue.
type item struct {
	kind itemKind
	ev   pubsub.Event
	// ctl: the payload of a control item; for an event, nil, or the frame
	// topic (what subscriptions match) when it differs from the body's
	// (never with our publishers: the field stays out of every item).
	ctl *control
	// slab: the borrowed slab the event's Value is in (borrowed mode), to
	// release once OnEvent returned or the event was dropped; else nil.
	slab *slab
}

// frameTopic is the topic subscriptions match an event item by.
func (it *item) frameTopic() string {
	if it.ctl != nil {
		return it.ctl.ftopic
	}
	return it.ev.Update.TopicOrDefault()
}

func (it *item) isData() bool { return it.kind == kEvent || it.kind == kHeartbeat }

// control carries the payload of the rarer items.
type control struct {
	gap    pubsub.Gap        // kGap
	hb     heartbeat         // kHeartbeat
	ov     *overflow         // kOverflow
	filter *prefixSet        // kTopics: the subscriptions from now on
	forget func(string) bool // kTopics: tracker topics to forget
	pubID  string            // kForget: publisher to forget; kSeed: to seed
	ftopic string            // kEvent: the frame topic, when not the body's
}

// overflow records what one source dropped while the queue was full.
type overflow struct {
	pubID  string // the endpoint's publisher id ("" for PULL)
	topics map[string]*ovTopic
	other  uint64 // drops beyond ovMaxTopics, or without a body topic
}

type ovTopic struct {
	pub                string
	epoch, first, last uint64
	n                  uint64
}

const ovMaxTopics = 64

const (
	// releaseEvery: the delivery goroutine gives room back to readers every
	// so many delivered items.
	releaseEvery = 16
)

func (o *overflow) record(it *item) {
	if it.kind != kEvent {
		return
	}
	t := it.ev.Update.TopicOrDefault()
	ot := o.topics[t]
	if ot == nil {
		if len(o.topics) >= ovMaxTopics {
			o.other++
			return
		}
		ot = &ovTopic{pub: it.ev.Meta.PublisherID, epoch: it.ev.Meta.Epoch, first: it.ev.Meta.Seq}
		o.topics[t] = ot
	}
	ot.n++
	if it.ev.Meta.Seq != 0 && it.ev.Meta.Epoch == ot.epoch {
		ot.last = it.ev.Meta.Seq
	}
}

type inbox struct {
	log     *slog.Logger
	onEvent func(pubsub.Event)
	onGap   func(pubsub.Gap)
	limit   int
	// borrow: events are lent to OnEvent (SubscriberConfig.Borrow); their
	// Values come from slabs, which go back to the sources once delivered.
	borrow bool
	slabs  slabFree

	mu      sync.Mutex
	items   []item
	held    int // data items queued or in the batch being delivered
	wait    time.Duration
	room    chan struct{} // closed when room is given back; nil if nobody waits
	lagging bool          // a wait for room timed out: no more waits until empty
	idle    bool
	wake    chan struct{}
	stopped chan struct{}
	done    chan struct{}
	stop    atomic.Bool

	// Delivery goroutine only.
	tracker *pubsub.Tracker
	filter  *prefixSet // nil: no filtering (PULL)
	// ndelivered is added to delivered with each release of room, not per
	// event: the counters share cache lines with what readers write, and an
	// atomic add per event would bounce them between cores.
	ndelivered uint64

	received, delivered, overflowed, stale, filtered counter
	decodeErrors, badMessages, heartbeats            counter
	gaps                                             reasonCounts
}

// newInbox starts the delivery goroutine. firstContact sets the tracker's
// HeartbeatFirstContact (PULL: the publisher service after a restart).
func newInbox(log *slog.Logger, cfg pubsub.SubscriberConfig, wait time.Duration, filter *prefixSet, firstContact bool) *inbox {
	limit := cfg.QueueSize
	if limit <= 0 {
		limit = pubsub.DefaultQueueSize
	}
	in := &inbox{
		log:     log,
		onEvent: cfg.OnEvent,
		onGap:   cfg.OnGap,
		limit:   limit,
		borrow:  cfg.Borrow,
		wait:    wait,
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
		done:    make(chan struct{}),
		tracker: pubsub.NewTracker(),
		filter:  filter,
	}
	in.tracker.HeartbeatFirstContact = firstContact
	if in.onEvent == nil {
		in.onEvent = func(pubsub.Event) {}
	}
	go in.run()
	return in
}

// push appends src's batch. What does not fit in the queue is dropped into
// src's overflow record at once (the SubscriberConfig contract: a slow
// OnEvent leads to GapOverflow, never to a slower publisher) — unless a
// delivery wait is configured (WithDeliveryWait): then the reader first
// waits for room, at most that long per push, unless the inbox is lagging
// (a previous wait timed out and the queue has not been emptied since). An
// overflow marker goes before the first item accepted after drops, or at
// the end of a push that finds room again; force puts a pending marker
// regardless (the source is closing).
func (in *inbox) push(src *source, force bool) {
	in.mu.Lock()
	if len(in.items) == 0 && src.ov == nil && in.held+len(src.batch) <= in.limit {
		// Common case: everything fits in an empty queue; swap, not copy.
		for i := range src.batch {
			if src.batch[i].isData() {
				in.held++
			}
		}
		in.items, src.batch = src.batch, in.items[:0]
		wake := in.idle
		in.idle = false
		pressed := in.pressedLocked()
		in.mu.Unlock()
		switch {
		case wake:
			in.handOff()
		case pressed:
			runtime.Gosched() // see pressedLocked
		}
		return
	}
	w := waiter{d: in.wait}
	defer w.stop()
	var dropped uint64
	for i := range src.batch {
		it := &src.batch[i]
		if it.isData() {
			for w.d > 0 && in.held >= in.limit && !in.lagging && !in.stop.Load() {
				if in.room == nil {
					in.room = make(chan struct{})
				}
				room := in.room
				wake := in.idle && len(in.items) > 0
				in.idle = in.idle && !wake
				in.mu.Unlock()
				if wake {
					in.signal() // what this push queued must not wait for its end
				}
				ok := w.wait(room)
				in.mu.Lock()
				if !ok && in.held >= in.limit {
					in.lagging = true
				}
			}
			if in.held >= in.limit {
				if it.kind == kEvent {
					if src.ov == nil {
						src.ov = &overflow{pubID: src.pubID, topics: map[string]*ovTopic{}}
					}
					src.ov.record(it)
					dropped++
					if it.slab != nil {
						in.slabs.release(it.slab, 1)
					}
				}
				continue
			}
			in.held++
		}
		if src.ov != nil {
			in.items = append(in.items, item{kind: kOverflow, ctl: &control{ov: src.ov}})
			src.ov = nil
		}
		in.items = append(in.items, *it)
	}
	if src.ov != nil && (force || in.held < in.limit) {
		// The queue has room again (or the source ends): report now rather
		// than wait for the source's next item.
		in.items = append(in.items, item{kind: kOverflow, ctl: &control{ov: src.ov}})
		src.ov = nil
	}
	wake := in.idle && len(in.items) > 0
	if wake {
		in.idle = false
	}
	pressed := in.pressedLocked()
	in.mu.Unlock()
	clear(src.batch)
	src.batch = src.batch[:0]
	if dropped > 0 {
		in.overflowed.Add(dropped)
	}
	switch {
	case wake:
		in.handOff()
	case pressed:
		// The queue fills faster than it drains: if the delivery goroutine
		// waits for this P, let it have it.
		runtime.Gosched()
	}
}

// pressedLocked reports whether the queue fills faster than it drains:
// more than a quarter of the bound is held. A reader that finds it so
// yields its P after the push: under a steady stream it never blocks on
// its socket, and the scheduler would otherwise let it run a whole time
// slice (10 ms, tens of thousands of events) while the delivery goroutine
// waits in a run queue, so the queue would overflow for want of CPU rather
// than because OnEvent is slow.
func (in *inbox) pressedLocked() bool { return in.held > in.limit/4 }

// handOff wakes the idle delivery goroutine and lets it run now. Woken, it
// would wait on this P's run queue behind the reader, which under a steady
// stream never blocks (data is always there) and would fill the queue long
// before the scheduler preempts it: the queue would overflow for want of
// CPU, not for a slow OnEvent. Yielding here costs one scheduling round per
// batch, not per event.
func (in *inbox) handOff() {
	in.signal()
	runtime.Gosched()
}

func (in *inbox) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// release gives n delivered items' room back to readers; the caller holds
// mu.
func (in *inbox) releaseLocked(n int) {
	if in.ndelivered > 0 {
		in.delivered.Add(in.ndelivered)
		in.ndelivered = 0
	}
	in.held -= n
	if in.held == 0 {
		in.lagging = false
	}
	if in.room != nil && n > 0 {
		close(in.room)
		in.room = nil
	}
}

// post queues one control item (never dropped).
func (in *inbox) post(it item) {
	in.mu.Lock()
	in.items = append(in.items, it)
	wake := in.idle
	in.idle = false
	in.mu.Unlock()
	if wake {
		in.signal()
	}
}

// close stops the delivery goroutine after the callback in progress, if
// any, and waits for it. Queued items are discarded.
func (in *inbox) close() {
	if in.stop.CompareAndSwap(false, true) {
		close(in.stopped)
	}
	<-in.done
	in.mu.Lock()
	if in.room != nil {
		close(in.room)
		in.room = nil
	}
	in.mu.Unlock()
}

func (in *inbox) run() {
	defer close(in.done)
	defer func() { in.delivered.Add(in.ndelivered) }()
	var batch []item
	taken := 0
	for {
		in.mu.Lock()
		in.releaseLocked(taken)
		for len(in.items) == 0 {
			in.idle = true
			in.mu.Unlock()
			select {
			case <-in.wake:
			case <-in.stopped:
				return
			}
			in.mu.Lock()
		}
		batch, in.items = in.items, batch[:0]
		in.idle = false
		in.mu.Unlock()
		taken = 0
		// Borrowed mode: the Values of consecutive events of one slab are
		// released together once their OnEvent calls returned.
		var lent *slab
		var nlent int64
		for i := range batch {
			if in.stop.Load() {
				return
			}
			it := &batch[i]
			if it.isData() {
				taken++
			}
			in.handle(it)
			if it.slab != nil {
				if it.slab != lent {
					if lent != nil {
						in.slabs.release(lent, nlent)
					}
					lent, nlent = it.slab, 0
				}
				nlent++
			}
			if taken == releaseEvery {
				// Give the room back as we go, not only after the batch.
				in.mu.Lock()
				in.releaseLocked(taken)
				in.mu.Unlock()
				taken = 0
			}
		}
		if lent != nil {
			in.slabs.release(lent, nlent)
		}
		clear(batch)
	}
}

func (in *inbox) handle(it *item) {
	switch it.kind {
	case kEvent:
		if in.filter != nil && !in.filter.match(it.frameTopic()) {
			in.filtered.Add(1)
			return
		}
		gap, ok, deliver := in.tracker.Observe(it.ev.Meta, it.ev.Update.TopicOrDefault())
		if ok {
			in.gap(gap)
		}
		if !deliver {
			in.stale.Add(1)
			return
		}
		in.ndelivered++
		in.onEvent(it.ev)
	case kHeartbeat:
		hb := &it.ctl.hb
		for _, ts := range hb.seqs {
			if in.filter != nil && !in.filter.match(ts.topic) {
				continue
			}
			if g, ok := in.tracker.ObserveHeartbeat(hb.pubID, hb.epoch, ts.topic, ts.seq); ok {
				in.gap(g)
			}
		}
	case kGap:
		if it.ctl.gap.Topic == "" || in.filter == nil || in.filter.match(it.ctl.gap.Topic) {
			in.gap(it.ctl.gap)
		}
	case kOverflow:
		in.overflowGaps(it.ctl.ov)
	case kTopics:
		in.filter = it.ctl.filter
		if it.ctl.forget != nil {
			in.tracker.ForgetTopics(it.ctl.forget)
		}
	case kForget:
		in.tracker.Forget(it.ctl.pubID)
	case kSeed:
		in.seed(it.ctl.pubID, it.ctl.hb.epoch, it.ctl.hb.seqs)
	}
}

// overflowGaps reports what a source dropped, per topic, and moves the
// tracker past the dropped seqs so the same loss is not reported again as a
// seq gap.
func (in *inbox) overflowGaps(ov *overflow) {
	topics := make([]string, 0, len(ov.topics))
	for t := range ov.topics {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		if in.filter != nil && !in.filter.match(t) {
			continue
		}
		o := ov.topics[t]
		pub := o.pub
		if pub == "" {
			pub = ov.pubID
		}
		g := pubsub.Gap{Reason: pubsub.GapOverflow, PublisherID: pub, Topic: t, Lost: o.n}
		if o.pub != "" && o.last != 0 {
			in.tracker.ObserveHeartbeat(o.pub, o.epoch, t, o.last)
			g.Expected, g.Got = o.first, o.last
		}
		in.gap(g)
	}
	if ov.other > 0 {
		in.gap(pubsub.Gap{Reason: pubsub.GapOverflow, PublisherID: ov.pubID, Lost: ov.other})
	}
}

func (in *inbox) gap(g pubsub.Gap) {
	in.gaps.inc(string(g.Reason))
	if in.onGap == nil {
		in.log.Warn("gap detected (no OnGap callback)", "gap", g.String())
		return
	}
	in.onGap(g)
}

// stats fills the inbox's share of a SubscriberStats.
func (in *inbox) stats(st *SubscriberStats) {
	st.Received = in.received.Load()
	st.Delivered = in.delivered.Load()
	st.Overflow = in.overflowed.Load()
	st.Stale = in.stale.Load()
	st.Filtered = in.filtered.Load()
	st.DecodeErrors = in.decodeErrors.Load()
	st.BadMessages = in.badMessages.Load()
	st.Heartbeats = in.heartbeats.Load()
	st.Gaps = in.gaps.snapshot()
}

// seed sets the tracker's position of pub's topics to the resumed ones
// (Subscriber.Resume): the next expected seq is last+1, so a replayed or
// live event at or below it is refused as a duplicate and a jump beyond it
// is a gap. A stream the tracker already follows further is left alone.
func (in *inbox) seed(pub string, epoch uint64, seqs []topicSeq) {
	dropped := in.tracker.Dropped
	for _, ts := range seqs {
		// Observe of the resumed event itself: it sets the baseline (a
		// stream it already follows further refuses it as stale).
		in.tracker.Observe(model.Meta{PublisherID: pub, Epoch: epoch, Seq: ts.seq}, ts.topic)
	}
	in.tracker.Dropped = dropped
}
