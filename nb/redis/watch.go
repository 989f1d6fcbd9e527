package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Watch implements nb.Driver by reading the change log (a Redis Stream
// whose entry ids are <revision>-<n>) with XREAD BLOCK, from the entry of
// revision fromRev on, keeping table's entries.
//
//   - fromRev == 0: from the revision after the current one, read by one
//     script before Watch returns.
//   - fromRev below the log's floor (Compact, or the History cap trimmed
//     it): one response with nb.ErrCompacted and CompactRevision = floor.
//   - Every revision has at least one log entry, so the watch checks that
//     the ids it reads are consecutive (revision r+1 follows r, and entry n+1
//     follows n within a revision). A hole means the log was trimmed under
//     a watcher that fell behind: it ends with nb.ErrCompacted, never
//     skipping events silently.
//   - A store that lost its data (a Redis restart without persistence: the
//     revision went back) ends the watch with nb.ErrCompacted too.
//   - Delete events carry the row's last value in KV.Value and PrevValue;
//     put events carry no PrevValue. Response.Revision is the revision of
//     the response's last event.
//
// The channel closes on ctx cancel (no error; noticed within one XREAD
// block, 1 s), on Close (the last response wraps nb.ErrClosed; an unread
// response in the one-slot buffer is replaced by it), and after a terminal
// error such as a connection failure the client's retries did not cure.
func (d *Driver) Watch(ctx context.Context, table string, fromRev int64) <-chan nb.WatchResponse {
	ch := make(chan nb.WatchResponse, 1)
	fail := func(resp nb.WatchResponse) <-chan nb.WatchResponse {
		if resp.Err != nil {
			ch <- resp
		}
		close(ch)
		return ch
	}
	if err := checkTable(table); err != nil {
		return fail(nb.WatchResponse{Err: err})
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return fail(nb.WatchResponse{Err: errClosed("watch " + table)})
	}
	d.wg.Add(1)
	d.mu.Unlock()

	sctx, done, err := d.begin(ctx, "watch", table)
	if err != nil {
		d.wg.Done()
		return fail(nb.WatchResponse{Err: err})
	}
	cur, floor, err := d.state(sctx)
	done()
	switch {
	case ctx.Err() != nil:
		d.wg.Done()
		return fail(nb.WatchResponse{})
	case err != nil:
		d.wg.Done()
		return fail(nb.WatchResponse{Err: d.wrap("watch", table, err)})
	}
	start := fromRev
	if start <= 0 {
		start = cur + 1
	}
	if start < floor {
		d.wg.Done()
		return fail(nb.WatchResponse{
			Err:             fmt.Errorf("redis: watch %s from %d: %w (at %d)", table, start, nb.ErrCompacted, floor),
			CompactRevision: floor,
		})
	}
	go d.watch(ctx, table, start, min(start-1, cur), ch)
	return ch
}

// logID is a change log entry id: revision and position within it.
type logID struct{ rev, n int64 }

func parseLogID(s string) (logID, error) {
	a, b, ok := strings.Cut(s, "-")
	rev, err1 := strconv.ParseInt(a, 10, 64)
	n, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return logID{}, fmt.Errorf("malformed change log id %q", s)
	}
	return logID{rev, n}, nil
}

// watch is the goroutine of one Watch: it owns ch and closes it.
func (d *Driver) watch(ctx context.Context, table string, start, known int64, ch chan nb.WatchResponse) {
	defer d.wg.Done()
	defer close(ch)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(d.life, cancel)()

	key := d.prefix + "log"
	// Read after the last entry of the revision before start. Revision 1
	// (a fresh store) has no entry: the first write is revision 2.
	last := strconv.FormatInt(start-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10)
	prev := logID{rev: max(start, 2) - 1, n: math.MaxInt64} // the entry expected next is (prev.rev+1, 0)

	// end delivers a terminal response, unless ctx was canceled.
	end := func(resp nb.WatchResponse) {
		switch {
		case ctx.Err() != nil:
		case d.isClosed():
			d.closedResponse(ch, table)
		default:
			select {
			case ch <- resp:
			case <-ctx.Done():
			case <-d.life.Done():
				d.closedResponse(ch, table)
			}
		}
	}
	compacted := func(why string) {
		floor := int64(0)
		if _, f, err := d.state(wctx); err == nil {
			floor = f
		}
		end(nb.WatchResponse{
			Err:             fmt.Errorf("redis: watch %s: %s: %w (at %d)", table, why, nb.ErrCompacted, floor),
			CompactRevision: floor,
		})
	}

	for {
		res, err := d.cli.XRead(wctx, &goredis.XReadArgs{
			Streams: []string{key, last}, Count: watchBatch, Block: watchBlock,
		}).Result()
		switch {
		case ctx.Err() != nil || d.isClosed():
			end(nb.WatchResponse{})
			return
		case errors.Is(err, goredis.Nil): // idle: check the store was not reset under us
			cur, _, err := d.state(wctx)
			if err != nil {
				end(nb.WatchResponse{Err: d.wrap("watch", table, err)})
				return
			}
			if cur < known {
				compacted(fmt.Sprintf("store revision %d is behind revision %d already seen (the server lost its data)", cur, known))
				return
			}
			continue
		case err != nil:
			end(nb.WatchResponse{Err: d.wrap("watch", table, err)})
			return
		}

		var resp nb.WatchResponse
		for _, stream := range res {
			for _, msg := range stream.Messages {
				id, err := parseLogID(msg.ID)
				if err != nil {
					end(nb.WatchResponse{Err: d.wrap("watch", table, err)})
					return
				}
				if !(id.rev == prev.rev && id.n == prev.n+1) && !(id.rev == prev.rev+1 && id.n == 0) {
					compacted(fmt.Sprintf("change log entry %s follows %d-%d: history in between was trimmed", msg.ID, prev.rev, prev.n))
					return
				}
				prev, last, known = id, msg.ID, max(known, id.rev)
				if field(msg, "tb") != table {
					continue
				}
				resp.Events = append(resp.Events, event(table, id.rev, msg))
				resp.Revision = id.rev
			}
		}
		if len(resp.Events) == 0 {
			continue
		}
		select {
		case ch <- resp:
		case <-ctx.Done():
			return
		case <-d.life.Done():
			d.closedResponse(ch, table)
			return
		}
	}
}

// closedResponse delivers the ErrClosed response without waiting for the
// reader: an unread response in the buffer is replaced by it.
func (d *Driver) closedResponse(ch chan nb.WatchResponse, table string) {
	resp := nb.WatchResponse{Err: errClosed("watch " + table)}
	select {
	case ch <- resp:
		return
	default:
	}
	select {
	case <-ch:
	default:
	}
	select {
	case ch <- resp:
	default:
	}
}

func field(msg goredis.XMessage, name string) string {
	s, _ := msg.Values[name].(string)
	return s
}

// event converts a change log entry of revision rev.
func event(table string, rev int64, msg goredis.XMessage) nb.Event {
	key, value := field(msg, "k"), []byte(field(msg, "v"))
	lease, _ := strconv.ParseInt(field(msg, "l"), 10, 64)
	if field(msg, "t") == "d" {
		return nb.Event{
			Type:      nb.EventDelete,
			KV:        nb.KV{Table: table, Key: key, Value: value, ModRevision: rev, Lease: nb.LeaseID(lease)},
			PrevValue: value,
		}
	}
	create, _ := strconv.ParseInt(field(msg, "c"), 10, 64)
	return nb.Event{
		Type: nb.EventPut,
		KV: nb.KV{Table: table, Key: key, Value: value, CreateRevision: create, ModRevision: rev,
			Lease: nb.LeaseID(lease)},
	}
}
