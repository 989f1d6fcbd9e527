package clock

import (
	"container/heap"
	"sync"
	"time"
)

// Fake is a Clock that stands still until Advance moves it. Timers fire from
// Advance, on the caller's goroutine, in deadline order (creation order for
// equal deadlines), so a test knows exactly what has run when Advance
// returns. The zero value is not usable; call NewFake. Safe for concurrent use.
type Fake struct {
	advance sync.Mutex // serializes Advance calls

	mu     sync.Mutex // guards the fields below; never held while a timer fires
	now    time.Time
	seq    uint64
	timers timerHeap
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time. While Advance fires a timer, Now is that
// timer's deadline.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// AfterFunc schedules f to be called by Advance once d has elapsed. A d <= 0
// is due at once but still fires only from the next Advance (Advance(0)
// suffices), never from AfterFunc itself, so callers may hold locks that f
// takes.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return f.schedule(&fakeTimer{clock: f, fn: fn}, d)
}

// NewTimer returns a Timer whose channel (buffer 1) receives the fake time
// from Advance once d has elapsed.
func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.schedule(&fakeTimer{clock: f, c: make(chan time.Time, 1)}, d)
}

// Pending returns how many timers are scheduled and not yet fired or
// stopped; tests use it to wait until code under test has armed a timer.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// Advance moves the clock forward by d (d >= 0), firing every timer due by
// the new time: each in turn, with Now set to its deadline, AfterFunc
// callbacks called synchronously. Timers that those callbacks schedule fire
// too if due by the new time. Callbacks must not call Advance (deadlock).
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		panic("clock: Fake.Advance with a negative duration")
	}
	f.advance.Lock()
	defer f.advance.Unlock()
	f.mu.Lock()
	target := f.now.Add(d)
	for len(f.timers) > 0 && !f.timers[0].when.After(target) {
		t := heap.Pop(&f.timers).(*fakeTimer)
		if t.when.After(f.now) {
			f.now = t.when
		}
		now := f.now
		f.mu.Unlock()
		t.fire(now)
		f.mu.Lock()
	}
	f.now = target
	f.mu.Unlock()
}

func (f *Fake) schedule(t *fakeTimer, d time.Duration) *fakeTimer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.push(t, d)
	return t
}

// push schedules t at now+d. f.mu must be held.
func (f *Fake) push(t *fakeTimer, d time.Duration) {
	f.seq++
	t.when, t.seq = f.now.Add(d), f.seq
	heap.Push(&f.timers, t)
}

// unschedule removes t if pending and discards an unreceived tick. f.mu must
// be held.
func (f *Fake) unschedule(t *fakeTimer) bool {
	if t.c != nil {
		select {
		case <-t.c:
		default:
		}
	}
	if t.index < 0 {
		return false
	}
	heap.Remove(&f.timers, t.index)
	return true
}

type fakeTimer struct {
	clock *Fake
	fn    func()         // AfterFunc timers
	c     chan time.Time // NewTimer timers
	when  time.Time
	seq   uint64
	index int // position in clock.timers; -1 when not pending
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	return t.clock.unschedule(t)
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	pending := t.clock.unschedule(t)
	t.clock.push(t, d)
	return pending
}

func (t *fakeTimer) fire(now time.Time) {
	if t.fn != nil {
		t.fn()
		return
	}
	select {
	case t.c <- now:
	default: // like time.Timer: a tick nobody took is not queued twice
	}
}

// timerHeap orders pending timers by deadline, then creation.
type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].when.Equal(h[j].when) {
		return h[i].when.Before(h[j].when)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
