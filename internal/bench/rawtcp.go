package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// RawTCP is the reference transport (baselines.md §2): one listener, each
// subscriber a plain TCP connection with a 4096-event queue and a writer
// goroutine behind a 64 KiB bufio.Writer that flushes when the queue is
// empty; frames are a 4-byte length prefix plus the 300-byte payload;
// readers use a 64 KiB bufio.Reader. Publish blocks while any subscriber's
// queue is full, so it is lossless — and one stuck reader stalls the
// publisher, by design. It is a ceiling, not a design to copy.
type RawTCP struct{}

// Name implements Transport.
func (RawTCP) Name() string { return ReferenceName }

// StartPublisher implements Transport.
func (RawTCP) StartPublisher(context.Context) (Publisher, error) {
	f, err := listenFanout("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &rawPublisher{fan: f, tmpl: RawTemplate()}, nil
}

// StartSubscriber implements Transport.
func (RawTCP) StartSubscriber(ctx context.Context, addr string, sink Sink) (Subscriber, error) {
	return dialReader(ctx, addr, func(b []byte) error {
		if len(b) < rawHeaderLen {
			return fmt.Errorf("bench: raw frame of %d bytes, want at least %d", len(b), rawHeaderLen)
		}
		sink.Event(Kind(b[16]), int64(binary.BigEndian.Uint64(b[8:16])))
		return nil
	})
}

// rawPublisher numbers, timestamps and fans out copies of the template.
type rawPublisher struct {
	fan  *fanout
	tmpl []byte
	seq  uint64 // owned by the single publishing goroutine
}

func (p *rawPublisher) Addr() string { return p.fan.Addr() }

// Publish copies the template into a fresh buffer, writes seq, the send
// time and the kind into its header, and queues it for every subscriber.
func (p *rawPublisher) Publish(ctx context.Context, k Kind) error {
	buf := make([]byte, len(p.tmpl))
	copy(buf, p.tmpl)
	p.seq++
	binary.BigEndian.PutUint64(buf[0:8], p.seq)
	binary.BigEndian.PutUint64(buf[8:16], uint64(time.Now().UnixNano()))
	buf[16] = byte(k)
	return p.fan.Send(ctx, buf)
}

func (p *rawPublisher) Close() error { return p.fan.Close() }
