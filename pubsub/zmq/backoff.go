package zmq

// Reconnect backoff: jittered exponential, so that a thousand subscribers of
// a restarted publisher do not redial in lockstep.

import (
	"math/rand/v2"
	"time"
)

// backoff yields reconnect delays: about min after the first failure,
// doubling up to max, each drawn uniformly from [d/2, d·3/2).
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

func newBackoff(minDelay, maxDelay time.Duration) *backoff {
	return &backoff{min: minDelay, max: maxDelay}
}

// next returns the delay before the next attempt and advances.
func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
	case b.cur < b.max:
		b.cur = min(2*b.cur, b.max)
	}
	half := b.cur / 2
	return half + rand.N(b.cur)
}

// reset starts over after a successful connection.
func (b *backoff) reset() { b.cur = 0 }
