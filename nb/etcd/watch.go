package etcd

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Watch implements nb.Driver with an etcd watch on the prefix /<table>/,
// with clientv3.WithRequireLeader (a member that loses its leader ends the
// watch with an error instead of hanging) and WithPrevKV (delete events
// carry the last value).
//
// fromRev == 0 means "after the current revision", resolved with one read
// before Watch returns: every write that completes after Watch returns is
// delivered. Responses hold the events of one etcd watch response; their
// Revision is the ModRevision of their last event (a safe resume point:
// etcd's header revision can run ahead of events still to come while a
// watcher catches up).
//
// The channel is closed:
//   - when ctx is canceled, with no further response;
//   - when the driver is closed: the last response's Err wraps nb.ErrClosed.
//     A response the caller has not received yet may be replaced by it, so
//     Close never waits for a reader;
//   - after a terminal error in the last response: nb.ErrCompacted with
//     CompactRevision set when fromRev is compacted away; etcd's error (for
//     example "no leader") otherwise; or an invalid table.
//
// Each Watch runs one goroutine, owned by the driver: Close waits for it.
// A reader that stops reading blocks it (etcd's client buffers meanwhile),
// so callers must cancel ctx when they stop reading.
func (d *Driver) Watch(ctx context.Context, table string, fromRev int64) <-chan nb.WatchResponse {
	if err := checkTable(table); err != nil {
		return single(nb.WatchResponse{Err: err})
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return single(nb.WatchResponse{Err: errClosed("watch")})
	}
	d.wg.Add(1)
	d.mu.Unlock()

	prefix := tablePrefix(table)
	if fromRev <= 0 {
		rev, err := d.Revision(ctx)
		if err != nil {
			d.wg.Done()
			if ctx.Err() != nil && !d.isClosed() {
				return closedChan() // canceled: no response, as documented
			}
			return single(nb.WatchResponse{Err: fmt.Errorf("etcd: watch %s: %w", prefix, err)})
		}
		fromRev = rev + 1
	}
	wctx, cancel := context.WithCancel(ctx)
	wch := d.cli.Watch(clientv3.WithRequireLeader(wctx), prefix,
		clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(fromRev))
	out := make(chan nb.WatchResponse, 1)
	w := &watcher{d: d, ctx: ctx, table: table, fromRev: fromRev, out: out}
	go func() {
		defer d.wg.Done()
		defer close(out)
		defer cancel()
		w.run(wch)
	}()
	return out
}

// closedChan returns a closed, empty channel.
func closedChan() <-chan nb.WatchResponse {
	ch := make(chan nb.WatchResponse)
	close(ch)
	return ch
}

// single returns a closed channel holding one response.
func single(r nb.WatchResponse) <-chan nb.WatchResponse {
	ch := make(chan nb.WatchResponse, 1)
	ch <- r
	close(ch)
	return ch
}

// watcher forwards one etcd watch to out.
type watcher struct {
	d       *Driver
	ctx     context.Context // the caller's; canceled means close quietly
	table   string
	fromRev int64
	out     chan nb.WatchResponse
}

// run forwards responses until ctx is canceled, the driver closes or a
// terminal error has been sent.
func (w *watcher) run(wch clientv3.WatchChan) {
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.d.life.Done():
			w.sendClosed()
			return
		case wr, ok := <-wch:
			if !ok {
				w.ended()
				return
			}
			if r, terminal := w.convert(wr); terminal {
				w.d.log.Debug("etcd watch ended", "table", w.table, "from_revision", w.fromRev, "err", r.Err)
				w.send(r)
				return
			} else if len(r.Events) > 0 && !w.send(r) {
				return
			}
		}
	}
}

// ended handles etcd closing the watch channel on its own.
func (w *watcher) ended() {
	switch {
	case w.ctx.Err() != nil:
	case w.d.isClosed():
		w.sendClosed()
	default:
		w.send(nb.WatchResponse{Err: fmt.Errorf("etcd: watch %s: etcd closed the watch channel (client closed?)", tablePrefix(w.table))})
	}
}

// convert turns an etcd watch response into an nb one; terminal reports an
// error response, after which the watch is over.
func (w *watcher) convert(wr clientv3.WatchResponse) (r nb.WatchResponse, terminal bool) {
	prefix := tablePrefix(w.table)
	if wr.CompactRevision != 0 {
		return nb.WatchResponse{
			Revision:        wr.Header.Revision,
			CompactRevision: wr.CompactRevision,
			Err: fmt.Errorf("etcd: watch %s from revision %d: %w (history compacted up to revision %d)",
				prefix, w.fromRev, nb.ErrCompacted, wr.CompactRevision),
		}, true
	}
	if err := wr.Err(); err != nil || wr.Canceled {
		if err == nil {
			err = errors.New("canceled by the server")
		}
		return nb.WatchResponse{Revision: wr.Header.Revision, Err: fmt.Errorf("etcd: watch %s: %w", prefix, err)}, true
	}
	r.Events = make([]nb.Event, 0, len(wr.Events))
	for _, ev := range wr.Events {
		e := nb.Event{Type: nb.EventPut, KV: toKV(w.table, ev.Kv)}
		if ev.PrevKv != nil {
			e.PrevValue = ev.PrevKv.Value
		}
		if ev.Type == mvccpb.DELETE {
			e.Type = nb.EventDelete
			e.KV.Value = e.PrevValue
		}
		r.Events = append(r.Events, e)
		r.Revision = ev.Kv.ModRevision
	}
	return r, false
}

// send delivers r unless ctx is canceled or the driver closes (then the
// ErrClosed response goes out instead); it reports whether r was delivered.
func (w *watcher) send(r nb.WatchResponse) bool {
	select {
	case w.out <- r:
		return true
	case <-w.ctx.Done():
		return false
	case <-w.d.life.Done():
		w.sendClosed()
		return false
	}
}

// sendClosed delivers the final ErrClosed response without waiting for the
// reader: if the buffer is full, the undelivered response in it is dropped
// for this one (the reader must relist after ErrClosed anyway).
func (w *watcher) sendClosed() {
	r := nb.WatchResponse{Err: errClosed("watch " + tablePrefix(w.table))}
	for {
		select {
		case w.out <- r:
			return
		default:
		}
		select {
		case <-w.out:
		default:
		}
	}
}
