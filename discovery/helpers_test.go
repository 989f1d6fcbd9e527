package discovery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

func TestMain(m *testing.M) {
	if helperProcess() {
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

var start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// wait bounds every Eventually: the goroutines under test react at once,
// this only keeps a broken test from hanging.
const wait = 5 * time.Second

const tick = time.Millisecond

// testLogger logs warnings and errors to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// newMemory is an NB DB on a fake clock, closed at cleanup.
func newMemory(t *testing.T) (*memory.Driver, *clock.Fake) {
	fake := clock.NewFake(start)
	db := memory.New(memory.WithClock(fake))
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db, fake
}

// settle waits until n timers are armed on fake: the goroutines under test
// have finished what the last Advance made due and are waiting again.
func settle(t *testing.T, fake *clock.Fake, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return fake.Pending() == n }, wait, tick,
		"timers armed: %d, want %d", fake.Pending(), n)
}

// row reads publisher/<id>; false when it does not exist.
func row(t *testing.T, db nb.Driver, id string) (model.Publisher, nb.KV, bool) {
	t.Helper()
	kv, err := db.Get(t.Context(), model.TablePublisher, id)
	if errors.Is(err, nb.ErrNotFound) {
		return model.Publisher{}, nb.KV{}, false
	}
	require.NoError(t, err)
	var p model.Publisher
	require.NoError(t, json.Unmarshal(kv.Value, &p))
	return p, kv, true
}

func exists(t *testing.T, db nb.Driver, id string) bool {
	_, _, ok := row(t, db, id)
	return ok
}

// putRow writes a publisher row as another process would; opts may attach
// it to a lease.
func putRow(t *testing.T, db nb.Driver, p model.Publisher, opts ...nb.PutOption) {
	t.Helper()
	b, err := json.Marshal(&p)
	require.NoError(t, err)
	putRaw(t, db, p.ID, string(b), opts...)
}

func putRaw(t *testing.T, db nb.Driver, key, value string, opts ...nb.PutOption) {
	t.Helper()
	_, err := db.Put(t.Context(), model.TablePublisher, key, []byte(value), opts...)
	require.NoError(t, err)
}

func deleteRow(t *testing.T, db nb.Driver, id string) {
	t.Helper()
	require.NoError(t, db.Delete(t.Context(), model.TablePublisher, id, 0))
}

func pub(id, role, uri string) model.Publisher {
	return model.Publisher{ID: id, Role: role, URI: uri, Epoch: 1}
}

// info is a valid PublisherInfo of a neutron-server publisher.
func info(id, uri string) discovery.PublisherInfo {
	return discovery.PublisherInfo{ID: id, Role: model.RoleNeutronServer, URI: uri, Host: "host-a", PID: 4242, Epoch: 7}
}

var errRefused = errors.New("test: target refused")

// fakeTarget is a Target that behaves as the pubsub.Subscriber contract
// says (RegisterPublisher of a known id replaces its connection) and fails
// the test if it is ever connected twice to one uri.
type fakeTarget struct {
	t *testing.T

	mu       sync.Mutex
	conns    map[string]pubsub.Endpoint // by publisher id
	ops      []string                   // "+id uri" and "-id", in call order
	failNext int                        // RegisterPublisher calls still to refuse
}

func newTarget(t *testing.T) *fakeTarget {
	return &fakeTarget{t: t, conns: map[string]pubsub.Endpoint{}}
}

func (f *fakeTarget) RegisterPublisher(ep pubsub.Endpoint) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		return errRefused
	}
	f.conns[ep.PublisherID] = ep
	f.ops = append(f.ops, fmt.Sprintf("+%s %s", ep.PublisherID, ep.URI))
	uris := map[string]string{}
	for id, c := range f.conns {
		if other, dup := uris[c.URI]; dup {
			f.t.Errorf("two connections to %s: publishers %s and %s", c.URI, other, id)
		}
		uris[c.URI] = id
	}
	return nil
}

func (f *fakeTarget) UnregisterPublisher(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.conns[id]; !ok {
		return fmt.Errorf("fake target: %s: %w", id, pubsub.ErrUnknownPublisher)
	}
	delete(f.conns, id)
	f.ops = append(f.ops, "-"+id)
	return nil
}

// state is "id uri role" per connection, sorted.
func (f *fakeTarget) state() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.conns))
	for _, c := range f.conns {
		out = append(out, c.PublisherID+" "+c.URI+" "+c.Role)
	}
	sort.Strings(out)
	return out
}

// opLog returns the calls made so far.
func (f *fakeTarget) opLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

func (f *fakeTarget) refuse(n int) {
	f.mu.Lock()
	f.failNext = n
	f.mu.Unlock()
}

// eventually waits until the target's state is want.
func (f *fakeTarget) eventually(t *testing.T, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	require.Eventually(t, func() bool { return fmt.Sprint(f.state()) == fmt.Sprint(want) }, wait, tick,
		"target holds %q, want %q", f.state(), want)
}

var (
	errUnreachable = errors.New("test: NB DB unreachable")
	errWatchBroken = errors.New("test: watch stream broken")
)

// flakyDriver wraps a driver with the faults the tests inject: an NB DB
// that cannot be reached (down), a watch that silently loses its events
// (deaf) and then breaks (breakWatch), and a hook run before a Watch call.
type flakyDriver struct {
	nb.Driver
	down atomic.Bool
	deaf atomic.Bool

	breakc chan error // breakWatch hands its error to the watch forwarder

	mu          sync.Mutex
	beforeWatch func() // run once, at the start of the next Watch
	watches     int
}

func newFlaky(inner nb.Driver) *flakyDriver {
	return &flakyDriver{Driver: inner, breakc: make(chan error)}
}

func (f *flakyDriver) fail(op string) error {
	if f.down.Load() {
		return fmt.Errorf("flaky: %s: %w", op, errUnreachable)
	}
	return nil
}

func (f *flakyDriver) Grant(ctx context.Context, ttl time.Duration) (nb.LeaseID, error) {
	if err := f.fail("grant"); err != nil {
		return 0, err
	}
	return f.Driver.Grant(ctx, ttl)
}

func (f *flakyDriver) KeepAlive(ctx context.Context, id nb.LeaseID) error {
	if err := f.fail("keepalive"); err != nil {
		return err
	}
	return f.Driver.KeepAlive(ctx, id)
}

func (f *flakyDriver) Revoke(ctx context.Context, id nb.LeaseID) error {
	if err := f.fail("revoke"); err != nil {
		return err
	}
	return f.Driver.Revoke(ctx, id)
}

func (f *flakyDriver) Put(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	if err := f.fail("put"); err != nil {
		return 0, err
	}
	return f.Driver.Put(ctx, table, key, value, opts...)
}

func (f *flakyDriver) Update(ctx context.Context, table, key string, value []byte, expectRev int64, opts ...nb.PutOption) (int64, error) {
	if err := f.fail("update"); err != nil {
		return 0, err
	}
	return f.Driver.Update(ctx, table, key, value, expectRev, opts...)
}

func (f *flakyDriver) List(ctx context.Context, table, topic string) ([]nb.KV, int64, error) {
	if err := f.fail("list"); err != nil {
		return nil, 0, err
	}
	return f.Driver.List(ctx, table, topic)
}

// setBeforeWatch makes the next Watch call run h first.
func (f *flakyDriver) setBeforeWatch(h func()) {
	f.mu.Lock()
	f.beforeWatch = h
	f.mu.Unlock()
}

func (f *flakyDriver) watchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches
}

// breakWatch ends the running watch with err, as a lost connection does.
func (f *flakyDriver) breakWatch(t *testing.T, err error) {
	t.Helper()
	select {
	case f.breakc <- err:
	case <-time.After(wait):
		t.Fatal("no watch running to break")
	}
}

// Watch forwards the inner watch, dropping responses while deaf and ending
// with breakWatch's error. The forwarder stops when ctx ends.
func (f *flakyDriver) Watch(ctx context.Context, table string, fromRev int64) <-chan nb.WatchResponse {
	f.mu.Lock()
	h := f.beforeWatch
	f.beforeWatch = nil
	f.watches++
	f.mu.Unlock()
	if h != nil {
		h()
	}
	inner := f.Driver.Watch(ctx, table, fromRev)
	out := make(chan nb.WatchResponse)
	go func() {
		defer close(out)
		send := func(r nb.WatchResponse) bool {
			select {
			case out <- r:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case err := <-f.breakc:
				send(nb.WatchResponse{Err: err})
				return
			case r, ok := <-inner:
				if !ok {
					return
				}
				if f.deaf.Load() && r.Err == nil {
					continue
				}
				if !send(r) || r.Err != nil {
					return
				}
			}
		}
	}()
	return out
}
