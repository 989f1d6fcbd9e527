package zmq

// sendQueue is the bounded FIFO between publishers (any goroutine) and one
// connection's writer goroutine. Items are complete, immutable wire messages.
//
// Flow control with a floor. When the queue is full, put may wait for room,
// at most a given time (a waiter). A subscriber that drains at least a
// batch within that time thus slows a faster publisher down to its own pace,
// losing nothing, as TCP would; one that does not is marked lagging: from
// then on put refuses at once what does not fit (the caller counts the
// drop), until the queue has been emptied. So a stuck subscriber costs the
// publisher one wait, never more, and then only itself loses events.
//
// The writer takes up to takeMax items per lock round and writes them into
// its buffer, so room appears often; it flushes when the queue is empty, and
// sleeps until put wakes it. The queue is a ring that grows on demand up to
// its bound, so an idle connection holds little memory. Control messages
// (heartbeats, PING, PONG) do not count against the bound — at most
// ctrlSlack of them wait at a time — so a full queue still carries them, and
// a refused one is no drop.

import (
	"bufio"
	"io"
	"net"
	"sync"
	"time"
)

const (
	ctrlSlack = 8
	takeMax   = 256
	ringMin   = 64
)

type sendQueue struct {
	mu      sync.Mutex
	ring    []qitem // capacity a power of two
	head, n int
	nctrl   int // control messages among the n queued (not held to the bound)
	limit   int
	idle    bool          // the writer sleeps on wake
	wake    chan struct{} // capacity 1
	closed  bool
	space   chan struct{} // closed when the writer takes items; nil if nobody waits
	lagging bool          // a wait for room timed out: no more waits until empty
	enq     uint64        // data messages accepted
	dropped uint64        // data messages refused
	episode uint64        // drops since the writer last took items
}

func newSendQueue(limit int) *sendQueue {
	return &sendQueue{limit: limit, wake: make(chan struct{}, 1)}
}

// waiter bounds the time one Publish may wait for room, across queues.
type waiter struct {
	d       time.Duration
	done    <-chan struct{} // the caller's context, if any
	t       *time.Timer
	expired bool
}

// wait waits for room to be closed; false when the time is up.
func (w *waiter) wait(room <-chan struct{}) bool {
	if w.expired || w.d <= 0 {
		return false
	}
	if w.t == nil {
		w.t = time.NewTimer(w.d)
	}
	select {
	case <-room:
		return true
	case <-w.t.C:
	case <-w.done:
	}
	w.expired = true
	return false
}

func (w *waiter) stop() {
	if w.t != nil {
		w.t.Stop()
	}
}

// qitem is one queued message.
type qitem struct {
	m    []byte
	ctrl bool
}

// push appends m; the caller holds mu.
func (q *sendQueue) push(m []byte, ctrl bool) {
	if q.n == len(q.ring) {
		grown := make([]qitem, max(ringMin, 2*len(q.ring)))
		for i := range q.n {
			grown[i] = q.ring[(q.head+i)&(len(q.ring)-1)]
		}
		q.ring, q.head = grown, 0
	}
	q.ring[(q.head+q.n)&(len(q.ring)-1)] = qitem{m, ctrl}
	q.n++
	if ctrl {
		q.nctrl++
	}
}

// fullLocked reports whether a data message would exceed the bound.
func (q *sendQueue) fullLocked() bool { return q.n-q.nctrl >= q.limit }

// put queues a data message. When the queue is full it waits for room with
// w (nil: no waiting) unless the queue is lagging; it reports false, and
// counts a drop, when the message was refused.
func (q *sendQueue) put(m []byte, w *waiter) bool {
	q.mu.Lock()
	for q.fullLocked() && !q.closed {
		if w == nil || q.lagging {
			return q.refuseLocked()
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		room := q.space
		q.mu.Unlock()
		ok := w.wait(room)
		q.mu.Lock()
		if !ok && q.fullLocked() {
			q.lagging = true
			return q.refuseLocked()
		}
	}
	if q.closed {
		return q.refuseLocked()
	}
	q.push(m, false)
	q.enq++
	wake := q.idle
	q.idle = false
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return true
}

// putBulk queues replayed data messages at once, beyond the bound if need
// be (they are bounded by the replay buffer); false when the queue is
// closed.
func (q *sendQueue) putBulk(ms [][]byte) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	for _, m := range ms {
		q.push(m, false)
	}
	q.enq += uint64(len(ms))
	wake := q.idle
	q.idle = false
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return true
}

func (q *sendQueue) refuseLocked() bool {
	q.dropped++
	q.episode++
	q.mu.Unlock()
	return false
}

// putCtrl queues a control message (not counted, may exceed the bound).
func (q *sendQueue) putCtrl(m []byte) bool {
	q.mu.Lock()
	if q.closed || q.nctrl >= ctrlSlack {
		q.mu.Unlock()
		return false
	}
	q.push(m, true)
	wake := q.idle
	q.idle = false
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return true
}

func (q *sendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// waitRoom reports whether a data message would be refused now, and returns
// a channel closed when the writer next makes room.
func (q *sendQueue) waitRoom() (full bool, room <-chan struct{}) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || !q.fullLocked() {
		return false, nil
	}
	if q.space == nil {
		q.space = make(chan struct{})
	}
	return true, q.space
}

// next returns the next batch (up to takeMax items, appended to dst[:0]) and
// the drops since the previous batch. Before it sleeps it calls flush (write
// out what is buffered). It returns a nil batch when the queue is closed and
// empty, or stop is closed; and flush's error.
func (q *sendQueue) next(dst [][]byte, flush func() error, stop <-chan struct{}) ([][]byte, uint64, error) {
	q.mu.Lock()
	flushed := false
	for q.n == 0 {
		if q.closed {
			q.mu.Unlock()
			return nil, 0, nil
		}
		if !flushed {
			q.mu.Unlock()
			if err := flush(); err != nil {
				return nil, 0, err
			}
			flushed = true
			q.mu.Lock()
			continue
		}
		q.idle = true
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-stop:
			return nil, 0, nil
		}
		q.mu.Lock()
	}
	batch := dst[:0]
	mask := len(q.ring) - 1
	for range min(q.n, takeMax) {
		it := q.ring[q.head]
		batch = append(batch, it.m)
		if it.ctrl {
			q.nctrl--
		}
		q.ring[q.head] = qitem{}
		q.head = (q.head + 1) & mask
		q.n--
	}
	if q.n == 0 {
		q.lagging = false
	}
	q.idle = false
	episode := q.episode
	q.episode = 0
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	q.mu.Unlock()
	return batch, episode, nil
}

// drainQueue is a connection writer: it writes q's batches to w through a
// 64 KiB buffer, flushed when the queue is empty, until stop is closed (nil)
// or q is closed and empty (the buffer flushed: nil or the flush error), or
// a write fails: then unwritten is how many messages of the batch in hand
// were not written. episode, if not nil, gets the drops reported with each
// batch that had some.
func drainQueue(q *sendQueue, w io.Writer, stop <-chan struct{}, episode func(uint64)) (unwritten int, err error) {
	bw := bufio.NewWriterSize(w, writeBuffer)
	flush := func() error {
		if bw.Buffered() == 0 {
			return nil
		}
		return bw.Flush()
	}
	var batch [][]byte
	for {
		b, dropped, err := q.next(batch, flush, stop)
		if err != nil {
			return 0, err
		}
		if b == nil {
			select {
			case <-stop:
				return 0, nil
			default:
				return 0, flush()
			}
		}
		for i, m := range b {
			if _, err := bw.Write(m); err != nil {
				return len(b) - i, err
			}
		}
		clear(b)
		batch = b[:0]
		if dropped > 0 && episode != nil {
			episode(dropped)
		}
	}
}

// close stops accepting messages and wakes the writer, which goes on
// taking what is queued (next returns nil once it is empty) unless drained.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closed = true
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	q.mu.Unlock()
	q.signal()
}

// drain takes (and forgets) what is still queued and returns how many data
// messages that was.
func (q *sendQueue) drain() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.n - q.nctrl
	q.ring, q.head, q.n, q.nctrl = nil, 0, 0, 0
	return n
}

func (q *sendQueue) counts() (queued int, enq, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n - q.nctrl, q.enq, q.dropped
}

// deadlineConn refreshes a connection's read or write deadline at most every
// quarter of the timeout, instead of on every call; a read or write that
// makes no progress for between ¾ and all of the timeout fails with
// os.ErrDeadlineExceeded. Each direction must be used by one goroutine.
type deadlineConn struct {
	net.Conn
	readTimeout, writeTimeout time.Duration
	readSet, writeSet         time.Time
}

func (d *deadlineConn) Read(b []byte) (int, error) {
	refreshDeadline(d.readTimeout, &d.readSet, d.Conn.SetReadDeadline)
	return d.Conn.Read(b)
}

func (d *deadlineConn) Write(b []byte) (int, error) {
	refreshDeadline(d.writeTimeout, &d.writeSet, d.Conn.SetWriteDeadline)
	return d.Conn.Write(b)
}

// refreshDeadline sets a deadline timeout from now with set, unless the last
// one was set less than a quarter of the timeout ago (0: no deadline).
func refreshDeadline(timeout time.Duration, last *time.Time, set func(time.Time) error) {
	if timeout <= 0 {
		return
	}
	if now := time.Now(); now.Sub(*last) > timeout/4 {
		_ = set(now.Add(timeout))
		*last = now
	}
}
