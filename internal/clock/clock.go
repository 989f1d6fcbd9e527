// Package clock abstracts time for code with timeouts and TTLs, so that tests
// can drive it deterministically with Fake instead of sleeping.
package clock

import "time"

// Clock tells the time and schedules timers. Real follows the system clock;
// Fake moves only when told to.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// AfterFunc calls f once d has elapsed, unless the returned Timer is
	// stopped first. Its C returns nil. Real calls f in its own goroutine;
	// Fake calls f from Advance.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a Timer that sends the current time on C once d has
	// elapsed (like time.NewTimer).
	NewTimer(d time.Duration) Timer
}

// Timer is a pending event, as returned by Clock.AfterFunc and Clock.NewTimer.
// Its methods follow time.Timer (Go 1.23+ semantics: after Stop or Reset, no
// stale time is received from C).
type Timer interface {
	// C is the channel the time is sent on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It reports whether the timer was
	// still pending; false means it had already fired (an AfterFunc's f has
	// been started) or been stopped.
	Stop() bool
	// Reset reschedules the timer to fire d from now, and reports whether it
	// was still pending.
	Reset(d time.Duration) bool
}
