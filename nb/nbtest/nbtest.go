// Package nbtest is the conformance suite every nb.Driver must pass:
// nbtest.Run(t, factory) from the driver's own tests.
//
// The suite runs its cases sequentially, each on a fresh harness. Only
// relative revisions are asserted (a fresh etcd starts at revision 1, its
// first write gets 2). Waiting is bounded: watch reads time out after
// waitTimeout, and on real time lease expiry is polled for up to TTL+5s.
// Cases that wait for lease expiry use a 2 s TTL (etcd raises shorter TTLs
// to its minimum) and take about 3 s each on real time; the rest of the
// suite (ConcurrentCAS being the largest: 400 contended CAS writes) should
// take a second or two on a local server.
package nbtest

import (
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Harness is one fresh, empty NB DB for one subtest.
type Harness struct {
	Driver nb.Driver
	// Advance moves the driver's clock forward (drivers with a fake clock,
	// e.g. memory); when it returns, every effect due by the new time (lease
	// expiry and its deletions) has been applied. nil for drivers on real
	// time: the suite then polls with a deadline, and sleeps only where real
	// time must pass with nothing to poll (KeepAlive).
	Advance func(d time.Duration)
}

// Factory returns a fresh harness; it registers its own cleanup with t.Cleanup.
// The suite may Close the driver itself, so Close must be idempotent.
type Factory func(t *testing.T) Harness

// Run runs the whole suite against drivers built by f.
func Run(t *testing.T, f Factory) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, f(t)) })
	}
}

type testCase struct {
	name string
	fn   func(t *testing.T, h Harness)
}

// cases is appended to by the suite_*.go files' init functions, in file
// name order.
var cases []testCase

func register(name string, fn func(t *testing.T, h Harness)) {
	cases = append(cases, testCase{name, fn})
}
