package zmq

// valueSlab gives decoded events their Value bytes: the Values of events
// that arrived in one read share one allocation instead of one each.
//
// Why: a subscriber allocates nothing else per event (the strings that recur
// come from the decoder's caches), and one small allocation per event was
// the largest cost of decoding after the parse itself (malloc, then GC
// sweeping a span of ~200-byte objects per 40 events).
//
// Safety (owned events, the default; for borrowed ones see lend): a slab
// is append-only. Bytes handed out are never written again
// by the driver, and each Value is capped (len == cap), so an append by the
// user reallocates instead of writing into its neighbour's bytes. The user
// may keep an Event as long as it likes: the GC frees a slab once no Value
// in it is referenced. The price is retention: a Value kept for long keeps
// its whole slab (at most slabMax bytes) alive; bytes.Clone it to keep
// only its own bytes.
//
// Sizing: a slab is sized to what the read that brought the event still
// holds (the reader's buffered bytes bound the Values of the events that
// follow in it), and at least twice the previous slab while reads bring
// more than one event, at most slabMax. A connection with one event per
// read (a quiet one) thus gets exact-size Values, as before, and holds no
// slack; a busy one allocates once per slabMax bytes of Values.

import (
	"sync"
	"sync/atomic"
)

const (
	// slabMax bounds one slab, and so what a retained Value can keep alive.
	// 6 KiB rather than 8: the runtime puts four 6 KiB objects in a span
	// but only one 8 KiB object, so a busy connection would take a span
	// from the central lists (and sweep one) for every slab.
	slabMax = 6 << 10
	// slabOwn: a Value larger than this gets an allocation of its own.
	slabOwn = slabMax / 4
)

type valueSlab struct {
	free []byte // len = bytes handed out, cap = the slab's size
	// Borrowed mode (pool != nil, see lend): the slab being filled, and
	// how many Values it handed out since it was taken.
	pool *slabFree
	cur  *slab
	lent int64
}

// clone returns a copy of v (non-nil, also when empty). ahead is how many
// more bytes the caller has already read and will decode next: an upper
// bound of the Values still to come from the same read.
func (s *valueSlab) clone(v []byte, ahead int) []byte {
	n := len(v)
	if n == 0 {
		return []byte{}
	}
	if n > slabOwn {
		return append(make([]byte, 0, n), v...)
	}
	if cap(s.free)-len(s.free) < n {
		size := n + max(ahead, 0)
		if ahead > 0 {
			// A busy stream: at least double the previous slab, so a run of
			// small reads does not cost an allocation each.
			size = max(size, 2*cap(s.free))
		}
		s.free = make([]byte, 0, min(size, slabMax))
	}
	start := len(s.free)
	s.free = append(s.free, v...)
	return s.free[start:len(s.free):len(s.free)]
}

// Borrowed mode (pubsub.SubscriberConfig.Borrow): the receiver gives every
// Event back when OnEvent returns, so a slab can be written again once the
// delivery goroutine is done with every Value in it. Slabs then come from
// the inbox's free list (slabFree) and go back to it: a busy subscriber
// allocates nothing per event.
//
// Counting without an atomic per event: a slab the decoder is filling has
// slabBias added to its count, so no release can bring it to zero while
// Values may still be handed out. The decoder counts the Values it hands
// out in a plain integer and settles them with one atomic add when it
// retires the slab (its count + n - slabBias); the delivery goroutine
// releases the Values of consecutive items of one slab with one add
// (borrowRelease). Whoever brings the count to zero puts the slab back.

// slabBias keeps a slab being filled from reaching a count of zero.
const slabBias = 1 << 40

// slabBorrowMin is the smallest borrowed slab: what a quiet connection
// (one event per read) fills, a few Values, so that it holds little.
const slabBorrowMin = 1 << 10

// slabFreeMax bounds the free slabs an inbox keeps (what a burst needed
// beyond it goes to the GC).
const slabFreeMax = 16

// slab is one borrowed-mode slab.
type slab struct {
	buf  []byte // len = bytes handed out since the slab was taken
	refs atomic.Int64
}

// slabFree is an inbox's list of free slabs, shared by its connections'
// decoders (which take them) and its delivery goroutine (which returns
// them); one lock round per slab, not per event.
type slabFree struct {
	mu   sync.Mutex
	list []*slab
}

// get returns a free slab of at least size bytes: the last one put back
// if it is large enough (a smaller one is left to the GC: the stream got
// busier), else a new one.
func (f *slabFree) get(size int) *slab {
	f.mu.Lock()
	if n := len(f.list); n > 0 {
		s := f.list[n-1]
		f.list[n-1] = nil
		f.list = f.list[:n-1]
		f.mu.Unlock()
		if cap(s.buf) >= size {
			return s
		}
	} else {
		f.mu.Unlock()
	}
	return &slab{buf: make([]byte, 0, size)}
}

func (f *slabFree) put(s *slab) {
	s.buf = s.buf[:0]
	f.mu.Lock()
	if len(f.list) < slabFreeMax {
		f.list = append(f.list, s)
	}
	f.mu.Unlock()
}

// release gives n Values of s back; the last one returns s to f.
func (f *slabFree) release(s *slab, n int64) {
	if s.refs.Add(-n) == 0 {
		f.put(s)
	}
}

// lend returns v copied into the current borrowed slab, and that slab (nil
// when the copy is not in one: empty, or too large for a slab, which then
// gets an allocation of its own as in the owned mode). A new slab is sized
// as in the owned mode, to what the read still holds (ahead), but at least
// slabBorrowMin: a quiet connection's slabs hold a few Values, a busy
// one's slabMax bytes.
func (s *valueSlab) lend(v []byte, ahead int) ([]byte, *slab) {
	n := len(v)
	if n == 0 {
		return []byte{}, nil
	}
	if n > slabOwn {
		return append(make([]byte, 0, n), v...), nil
	}
	cur := s.cur
	if cur == nil || cap(cur.buf)-len(cur.buf) < n {
		s.retire()
		cur = s.pool.get(min(max(n+max(ahead, 0), slabBorrowMin), slabMax))
		cur.refs.Store(slabBias)
		s.cur = cur
	}
	start := len(cur.buf)
	cur.buf = append(cur.buf, v...)
	s.lent++
	return cur.buf[start:len(cur.buf):len(cur.buf)], cur
}

// retire stops filling the current borrowed slab: it goes back to the free
// list once its Values are released (at once if none is outstanding).
func (s *valueSlab) retire() {
	if s.cur == nil {
		return
	}
	s.pool.release(s.cur, slabBias-s.lent)
	s.cur, s.lent = nil, 0
}
