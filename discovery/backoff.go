package discovery

import (
	"math/rand/v2"
	"time"
)

// retryDelay is the wait before retry number attempt (1 for the first):
// retryMin doubled per attempt up to limit (retryMax when limit <= 0), then
// jittered uniformly into [d/2, d], so that a thousand processes that lost
// the NB DB together do not come back in lockstep.
func (o *options) retryDelay(attempt int, limit time.Duration) time.Duration {
	if limit <= 0 || limit > o.retryMax {
		limit = o.retryMax
	}
	d := o.retryMin
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}
