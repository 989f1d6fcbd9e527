package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// counter is the Sink of one subscriber. Counters are atomics read by the
// harness while the subscriber runs; latency samples belong to the
// delivering goroutine and are read only after the subscriber is closed.
type counter struct {
	data    atomic.Uint64
	warmup  atomic.Uint64
	gaps    atomic.Uint64
	gapLost atomic.Uint64

	record  bool      // sample latency of data events
	samples []float64 // ns

	// A stuck counter blocks its subscriber's delivery after the first
	// event until release is closed.
	stuck   bool
	release chan struct{}
	once    sync.Once

	_ [64]byte // keep hot counters of neighbours off this cache line
}

func newCounter(record, stuck bool, expect int) *counter {
	c := &counter{record: record, stuck: stuck, release: make(chan struct{})}
	if record {
		c.samples = make([]float64, 0, expect)
	}
	return c
}

// Event implements Sink.
func (c *counter) Event(k Kind, sentAt int64) {
	if k == KindWarmup {
		c.warmup.Add(1)
	} else {
		if c.record && sentAt != 0 {
			c.samples = append(c.samples, float64(time.Now().UnixNano()-sentAt))
		}
		c.data.Add(1)
	}
	if c.stuck {
		<-c.release
	}
}

// Timed implements Sink.
func (c *counter) Timed() bool { return c.record }

// Gap implements Sink.
func (c *counter) Gap(lost uint64) {
	c.gaps.Add(1)
	c.gapLost.Add(lost)
}

// ready reports whether the subscriber received anything yet.
func (c *counter) ready() bool { return c.warmup.Load()+c.data.Load() > 0 }

// unblock releases a stuck counter's subscriber. Idempotent.
func (c *counter) unblock() { c.once.Do(func() { close(c.release) }) }
