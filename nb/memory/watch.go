package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/dragonflow-go/dragonflow/nb"
)

// maxBatch bounds the events of one WatchResponse; a batch is extended past
// it only to keep the events of one revision together.
const maxBatch = 256

// record appends ev (at d.rev) to its table's history and to the queue of
// every watcher of the table. d.mu must be held.
func (d *Driver) record(ev nb.Event) {
	d.history[ev.KV.Table] = append(d.history[ev.KV.Table], ev)
	for w := range d.watchers[ev.KV.Table] {
		w.push(ev)
	}
}

// Watch streams table's changes from fromRev (0: changes after this call).
// Each watcher has an unbounded queue filled by writers, so writers never
// block and nothing is dropped; a reader that stops reading without
// canceling ctx therefore holds the queued events in memory. On Close the
// final response carries nb.ErrClosed; a response sent but not yet received
// at that moment is discarded in favour of it.
func (d *Driver) Watch(ctx context.Context, table string, fromRev int64) <-chan nb.WatchResponse {
	out := make(chan nb.WatchResponse, 1)
	end := func(resp nb.WatchResponse) <-chan nb.WatchResponse {
		out <- resp
		close(out)
		return out
	}
	if err := d.begin(ctx); err != nil {
		if errors.Is(err, nb.ErrClosed) {
			return end(nb.WatchResponse{Err: fmt.Errorf("memory: watch %s: %w", table, err)})
		}
		close(out) // ctx done: closed without an error, as on a later cancel
		return out
	}
	defer d.mu.Unlock()
	switch {
	case fromRev < 0:
		return end(nb.WatchResponse{Err: fmt.Errorf("memory: watch %s: negative revision %d", table, fromRev)})
	case fromRev == 0:
		fromRev = d.rev + 1
	case fromRev < d.compactRev:
		d.log.Debug("nb memory watch from compacted revision", "table", table, "from", fromRev, "compacted", d.compactRev)
		return end(nb.WatchResponse{
			Err: fmt.Errorf("memory: watch %s from revision %d: %w (compacted at %d)",
				table, fromRev, nb.ErrCompacted, d.compactRev),
			Revision:        d.rev,
			CompactRevision: d.compactRev,
		})
	}
	w := &watcher{d: d, table: table, from: fromRev, out: out, wake: make(chan struct{}, 1)}
	hist := d.history[table]
	i := sort.Search(len(hist), func(i int) bool { return hist[i].KV.ModRevision >= fromRev })
	w.push(hist[i:]...)
	if d.watchers[table] == nil {
		d.watchers[table] = map[*watcher]struct{}{}
	}
	d.watchers[table][w] = struct{}{}
	d.workers.Add(1)
	go w.run(ctx)
	return out
}

// Compact drops history before rev. Like etcd, rev may not exceed the
// current revision, and rev at or below an earlier compaction fails with
// nb.ErrCompacted.
func (d *Driver) Compact(ctx context.Context, rev int64) error {
	if err := d.begin(ctx); err != nil {
		return fmt.Errorf("memory: compact %d: %w", rev, err)
	}
	defer d.mu.Unlock()
	switch {
	case rev > d.rev:
		return fmt.Errorf("memory: compact %d: future revision (current %d)", rev, d.rev)
	case rev <= d.compactRev:
		return fmt.Errorf("memory: compact %d: %w (already at %d)", rev, nb.ErrCompacted, d.compactRev)
	}
	d.compactRev = rev
	for table, hist := range d.history {
		i := sort.Search(len(hist), func(i int) bool { return hist[i].KV.ModRevision >= rev })
		if i == len(hist) {
			delete(d.history, table)
		} else {
			d.history[table] = append([]nb.Event(nil), hist[i:]...)
		}
	}
	return nil
}

// watcher is one Watch: writers push onto queue, run moves it to out.
type watcher struct {
	d     *Driver
	table string
	from  int64 // events before this revision are not delivered
	out   chan nb.WatchResponse
	wake  chan struct{} // buffered 1: queue may be non-empty

	mu    sync.Mutex
	queue []nb.Event
}

// push queues events (skipping those before w.from) and wakes run.
func (w *watcher) push(evs ...nb.Event) {
	w.mu.Lock()
	for _, ev := range evs {
		if ev.KV.ModRevision >= w.from {
			w.queue = append(w.queue, ev)
		}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run delivers queued events until ctx is done or the driver closes.
func (w *watcher) run(ctx context.Context) {
	defer w.d.workers.Done()
	defer close(w.out)
	defer w.unregister()
	for {
		resp, ok := w.take()
		if !ok {
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			case <-w.d.closing:
				w.endClosed()
				return
			}
		}
		select {
		case w.out <- resp:
		case <-ctx.Done():
			return
		case <-w.d.closing:
			w.endClosed()
			return
		}
	}
}

// take removes the next batch from the queue: whole revisions, about
// maxBatch events, values copied so readers cannot alias the store.
func (w *watcher) take() (nb.WatchResponse, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return nb.WatchResponse{}, false
	}
	n := min(len(w.queue), maxBatch)
	for n < len(w.queue) && w.queue[n].KV.ModRevision == w.queue[n-1].KV.ModRevision {
		n++
	}
	evs := make([]nb.Event, n)
	for i, ev := range w.queue[:n] {
		ev.KV.Value = bytes.Clone(ev.KV.Value)
		ev.PrevValue = bytes.Clone(ev.PrevValue)
		evs[i] = ev
	}
	clear(w.queue[:n])
	w.queue = w.queue[n:]
	if len(w.queue) == 0 {
		w.queue = nil
	}
	return nb.WatchResponse{Events: evs, Revision: evs[n-1].KV.ModRevision}, true
}

// endClosed sends the final ErrClosed response without blocking: run is the
// only sender and out has room for one, so it first takes back a response
// the reader has not received.
func (w *watcher) endClosed() {
	select {
	case <-w.out:
	default:
	}
	w.out <- nb.WatchResponse{Err: fmt.Errorf("memory: watch %s: %w", w.table, nb.ErrClosed)}
}

func (w *watcher) unregister() {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	delete(w.d.watchers[w.table], w)
	if len(w.d.watchers[w.table]) == 0 {
		delete(w.d.watchers, w.table)
	}
}
