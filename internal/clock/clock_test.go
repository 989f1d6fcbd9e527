package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFakeNowMovesOnlyOnAdvance(t *testing.T) {
	f := clock.NewFake(epoch)
	assert.Equal(t, epoch, f.Now())
	f.Advance(0)
	assert.Equal(t, epoch, f.Now())
	f.Advance(3 * time.Second)
	assert.Equal(t, epoch.Add(3*time.Second), f.Now())
	assert.Panics(t, func() { f.Advance(-time.Second) })
}

func TestFakeAfterFuncFiresWhenDueInOrder(t *testing.T) {
	f := clock.NewFake(epoch)
	var fired []string
	var at []time.Time
	record := func(name string) func() {
		return func() { fired = append(fired, name); at = append(at, f.Now()) }
	}
	f.AfterFunc(2*time.Second, record("b"))
	f.AfterFunc(time.Second, record("a"))
	f.AfterFunc(2*time.Second, record("c")) // same deadline as b: creation order
	f.AfterFunc(5*time.Second, record("late"))
	assert.Equal(t, 4, f.Pending())

	f.Advance(999 * time.Millisecond)
	assert.Empty(t, fired, "nothing is due before 1s")
	f.Advance(1001 * time.Millisecond)
	assert.Equal(t, []string{"a", "b", "c"}, fired)
	assert.Equal(t, []time.Time{epoch.Add(time.Second), epoch.Add(2 * time.Second), epoch.Add(2 * time.Second)}, at,
		"Now reads each timer's deadline while it fires")
	assert.Equal(t, epoch.Add(2*time.Second), f.Now())
	assert.Equal(t, 1, f.Pending())
}

func TestFakeZeroDelayFiresOnNextAdvanceOnly(t *testing.T) {
	f := clock.NewFake(epoch)
	n := 0
	f.AfterFunc(0, func() { n++ })
	assert.Zero(t, n, "AfterFunc never calls f itself")
	f.Advance(0)
	assert.Equal(t, 1, n)
}

func TestFakeCallbackSchedulesWithinSameAdvance(t *testing.T) {
	f := clock.NewFake(epoch)
	var fired []time.Time
	var tick func()
	tick = func() {
		fired = append(fired, f.Now())
		f.AfterFunc(time.Second, tick)
	}
	f.AfterFunc(time.Second, tick)
	f.Advance(3500 * time.Millisecond)
	require.Len(t, fired, 3)
	assert.Equal(t, epoch.Add(3*time.Second), fired[2])
	assert.Equal(t, epoch.Add(3500*time.Millisecond), f.Now())
}

func TestFakeStopAndReset(t *testing.T) {
	f := clock.NewFake(epoch)
	n := 0
	tm := f.AfterFunc(time.Second, func() { n++ })
	assert.Nil(t, tm.C())
	assert.True(t, tm.Stop())
	assert.False(t, tm.Stop(), "already stopped")
	f.Advance(2 * time.Second)
	assert.Zero(t, n)

	assert.False(t, tm.Reset(time.Second), "was not pending")
	f.Advance(500 * time.Millisecond)
	assert.True(t, tm.Reset(time.Second), "was pending")
	f.Advance(999 * time.Millisecond)
	assert.Zero(t, n, "Reset pushed the deadline out")
	f.Advance(time.Millisecond)
	assert.Equal(t, 1, n)
	assert.False(t, tm.Stop(), "already fired")
	assert.Zero(t, f.Pending())
}

func TestFakeNewTimer(t *testing.T) {
	f := clock.NewFake(epoch)
	tm := f.NewTimer(time.Second)
	select {
	case <-tm.C():
		t.Fatal("fired early")
	default:
	}
	f.Advance(time.Second)
	select {
	case got := <-tm.C():
		assert.Equal(t, epoch.Add(time.Second), got)
	default:
		t.Fatal("did not fire")
	}

	// A tick not received is discarded by Reset, as with time.Timer.
	tm.Reset(time.Second)
	f.Advance(time.Second)
	tm.Reset(time.Second)
	select {
	case <-tm.C():
		t.Fatal("stale tick after Reset")
	default:
	}
	f.Advance(time.Second)
	assert.Equal(t, epoch.Add(3*time.Second), <-tm.C())
}

func TestRealClock(t *testing.T) {
	c := clock.Real()
	before := time.Now()
	assert.False(t, c.Now().Before(before))

	done := make(chan struct{})
	af := c.AfterFunc(time.Millisecond, func() { close(done) })
	assert.Nil(t, af.C())
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterFunc did not fire")
	}

	tm := c.NewTimer(time.Millisecond)
	select {
	case <-tm.C():
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire")
	}

	stopped := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	assert.True(t, stopped.Stop())
	assert.False(t, tm.Reset(time.Hour), "fired timer was not pending")
	assert.True(t, tm.Stop())
}
