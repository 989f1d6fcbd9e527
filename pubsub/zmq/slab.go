package zmq

// valueSlab gives decoded events their Value bytes: the Values of events
// that arrived in one read share one allocation instead of one each.
//
// Why: a subscriber allocates nothing else per event (the strings that recur
// come from the decoder's caches), and one small allocation per event was
// the largest cost of decoding after the parse itself (malloc, then GC
// sweeping a span of ~200-byte objects per 40 events).
//
// Safety: a slab is append-only. Bytes handed out are never written again
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
