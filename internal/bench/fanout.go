package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// The reference's fixed parameters (baselines.md §2).
const (
	// rawQueueLen bounds each subscriber connection's queue.
	rawQueueLen = 4096
	// rawBufSize is the bufio size of every writer and reader.
	rawBufSize = 64 << 10
	// frameLenSize is the big-endian length prefix of every frame.
	frameLenSize = 4
	// maxFrame bounds what a reader accepts.
	maxFrame = 1 << 20
)

// errClosed is returned by a fanout or reader used after Close.
var errClosed = errors.New("bench: closed")

// fanout is a listener that sends every frame to every accepted connection:
// a bounded queue and a writer goroutine with a bufio.Writer per connection,
// flushed when the queue is empty. Send blocks while any live connection's
// queue is full (lossless backpressure).
//
// Goroutines: one accept loop and one writer per connection, all owned by
// the fanout and stopped by Close.
type fanout struct {
	ln     net.Listener
	done   chan struct{}
	closed atomic.Bool
	wg     sync.WaitGroup
	conns  atomic.Pointer[[]*fanConn] // copy on write, under mu

	mu       sync.Mutex
	all      []*fanConn
	closeErr error
	once     sync.Once
}

// fanConn is one subscriber connection of a fanout.
type fanConn struct {
	conn net.Conn
	ch   chan []byte
	dead chan struct{} // closed when the writer stopped
}

// listenFanout listens on addr ("127.0.0.1:0") and starts accepting.
func listenFanout(addr string) (*fanout, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: listen %s: %w", addr, err)
	}
	f := &fanout{ln: ln, done: make(chan struct{})}
	f.conns.Store(&[]*fanConn{})
	f.wg.Go(f.accept)
	return f, nil
}

// Addr is the bound host:port.
func (f *fanout) Addr() string { return f.ln.Addr().String() }

func (f *fanout) accept() {
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		c := &fanConn{conn: conn, ch: make(chan []byte, rawQueueLen), dead: make(chan struct{})}
		f.mu.Lock()
		select {
		case <-f.done:
			f.mu.Unlock()
			_ = conn.Close()
			return
		default:
		}
		f.all = append(f.all, c)
		f.storeLive()
		f.wg.Go(func() { f.write(c) })
		f.mu.Unlock()
	}
}

// storeLive publishes the connections whose writer still runs. Called with mu.
func (f *fanout) storeLive() {
	live := make([]*fanConn, 0, len(f.all))
	for _, c := range f.all {
		select {
		case <-c.dead:
		default:
			live = append(live, c)
		}
	}
	f.all = live
	f.conns.Store(&live)
}

// write is c's writer: frames out of c.ch into a bufio.Writer, flushed when
// the queue is empty. It stops on Close or on a write error (the subscriber
// went away), after which Send skips c.
func (f *fanout) write(c *fanConn) {
	defer func() {
		close(c.dead)
		_ = c.conn.Close()
		f.mu.Lock()
		f.storeLive()
		f.mu.Unlock()
	}()
	w := bufio.NewWriterSize(c.conn, rawBufSize)
	var hdr [frameLenSize]byte
	for {
		var b []byte
		select {
		case b = <-c.ch:
		default:
			if w.Flush() != nil {
				return
			}
			select {
			case b = <-c.ch:
			case <-f.done:
				return
			}
		}
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		if _, err := w.Write(hdr[:]); err != nil {
			return
		}
		if _, err := w.Write(b); err != nil {
			return
		}
	}
}

// Send queues frame for every live connection. frame must not change
// afterwards. It blocks while a queue is full, until ctx is done.
func (f *fanout) Send(ctx context.Context, frame []byte) error {
	if f.closed.Load() {
		return errClosed
	}
	for _, c := range *f.conns.Load() {
		select {
		case c.ch <- frame:
			continue
		default:
		}
		select {
		case c.ch <- frame:
		case <-c.dead:
		case <-f.done:
			return errClosed
		case <-ctx.Done():
			return fmt.Errorf("bench: send blocked by a full subscriber queue: %w", ctx.Err())
		}
	}
	return nil
}

// Close stops accepting, closes every connection and waits for the
// goroutines. Idempotent.
func (f *fanout) Close() error {
	f.once.Do(func() {
		f.closed.Store(true)
		f.mu.Lock()
		close(f.done)
		err := f.ln.Close()
		for _, c := range f.all {
			_ = c.conn.Close() // unblocks a writer stuck in Write
		}
		f.mu.Unlock()
		f.wg.Wait()
		if err != nil {
			f.closeErr = fmt.Errorf("bench: close listener: %w", err)
		}
	})
	return f.closeErr
}

// frameReader reads length-prefixed frames from a connection through a
// 64 KiB bufio.Reader, reusing one buffer.
type frameReader struct {
	r   *bufio.Reader
	buf []byte
}

func newFrameReader(conn io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(conn, rawBufSize), buf: make([]byte, 0, 2*EventSize)}
}

// Next returns the next frame, valid until the next call.
func (fr *frameReader) Next() ([]byte, error) {
	var hdr [frameLenSize]byte
	if _, err := io.ReadFull(fr.r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > maxFrame {
		return nil, fmt.Errorf("bench: frame of %d bytes exceeds %d", n, maxFrame)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	fr.buf = fr.buf[:n]
	if _, err := io.ReadFull(fr.r, fr.buf); err != nil {
		return nil, err
	}
	return fr.buf, nil
}

// connReader runs fn on every frame of one connection in its own goroutine,
// until the connection fails, fn fails, or Close. A reader that stops on
// its own closes the connection, so the sender sees it gone.
type connReader struct {
	conn net.Conn
	wg   sync.WaitGroup
	once sync.Once
	err  error // the reader's own error; read after wg.Wait
}

// dialReader dials addr and starts reading frames into fn.
func dialReader(ctx context.Context, addr string, fn func(frame []byte) error) (*connReader, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: dial %s: %w", addr, err)
	}
	cr := &connReader{conn: conn}
	cr.wg.Go(func() {
		fr := newFrameReader(conn)
		for {
			b, err := fr.Next()
			if err == nil {
				err = fn(b)
			}
			if err != nil {
				cr.err = err
				_ = conn.Close()
				return
			}
		}
	})
	return cr, nil
}

// Close closes the connection and waits for the reader. Idempotent. An
// error the reader met before Close (not caused by it) is returned.
func (cr *connReader) Close() error {
	var err error
	cr.once.Do(func() {
		_ = cr.conn.Close()
		cr.wg.Wait()
		if cr.err != nil && !errors.Is(cr.err, net.ErrClosed) && !errors.Is(cr.err, io.EOF) {
			err = fmt.Errorf("bench: reader: %w", cr.err)
		}
	})
	return err
}
