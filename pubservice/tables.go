package pubservice

// tableRelay: one NB table followed by a watch and published as DbUpdates
// (see the package doc). list runs in New; run owns the relay afterwards,
// on one goroutine of the Service.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Backoff between relists when watches keep failing at once.
const (
	retryMin = 200 * time.Millisecond
	retryMax = 10 * time.Second
	// healthyWatch: a watch that lived this long was not a failure.
	healthyWatch = retryMax
)

var errWatchEnded = errors.New("pubservice: watch ended without an error")

// DefaultTables are the tables the service relays: the rows controllers
// write (chassis, activeport) and the publisher table.
func DefaultTables() []string {
	return []string{model.TableChassis, model.TablePublisher, model.TableActivePort}
}

type tableRelay struct {
	db        nb.Driver
	table     string
	pub       pubsub.Publisher
	selective bool
	log       *slog.Logger
	st        *counters

	rows map[string][]byte // the table as last published
	rev  int64             // rows are known up to this revision
}

func newTableRelay(db nb.Driver, table string, pub pubsub.Publisher, selective bool, log *slog.Logger, st *counters) *tableRelay {
	return &tableRelay{
		db: db, table: table, pub: pub, selective: selective, st: st,
		log: log.With("table", table), rows: map[string][]byte{},
	}
}

// list reads the table and publishes how it differs from what the relay
// had (nothing on the first list: announce false).
func (t *tableRelay) list(ctx context.Context, announce bool) error {
	kvs, rev, err := t.db.List(ctx, t.table, "")
	if err != nil {
		return fmt.Errorf("pubservice: list table %s: %w", t.table, err)
	}
	rows := make(map[string][]byte, len(kvs))
	for _, kv := range kvs {
		rows[kv.Key] = kv.Value
		if !announce {
			continue
		}
		old, had := t.rows[kv.Key]
		switch {
		case !had:
			t.publish(kv.Key, model.ActionCreate, kv.Value)
		case !bytes.Equal(old, kv.Value):
			t.publish(kv.Key, model.ActionSet, kv.Value)
		}
	}
	if announce {
		for _, key := range slices.Sorted(maps.Keys(t.rows)) {
			if _, ok := rows[key]; !ok {
				t.publish(key, model.ActionDelete, nil)
			}
		}
	}
	t.rows, t.rev = rows, rev
	return nil
}

// run follows the table until ctx ends (nil) or the driver is closed (an
// error wrapping nb.ErrClosed).
func (t *tableRelay) run(ctx context.Context) error {
	attempt := 0
	for {
		began := time.Now()
		reason, delivered := t.follow(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(reason, nb.ErrClosed):
			return fmt.Errorf("pubservice: relay of table %s stopped: %w", t.table, reason)
		}
		if delivered || time.Since(began) >= healthyWatch {
			attempt = 0
		}
		t.log.Warn("table watch ended; listing the table again", "revision", t.rev, "reason", reason)
		for {
			if attempt > 0 && !sleep(ctx, retryDelay(attempt)) {
				return nil
			}
			attempt++
			err := t.list(ctx, true)
			if err == nil {
				t.st.tableRelists.Add(1)
				break
			}
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, nb.ErrClosed):
				return fmt.Errorf("pubservice: relay of table %s stopped: %w", t.table, err)
			}
			t.log.Warn("listing the table failed; retrying", "attempt", attempt, "err", err)
		}
	}
}

// follow watches from t.rev+1 and publishes until the watch ends; it
// returns why, and whether the watch delivered anything.
func (t *tableRelay) follow(ctx context.Context) (reason error, delivered bool) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := t.db.Watch(wctx, t.table, t.rev+1)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err(), delivered
		case resp, ok := <-ch:
			if !ok {
				return errWatchEnded, delivered
			}
			if resp.Err != nil {
				return resp.Err, delivered
			}
			delivered = true
			t.apply(resp)
		}
	}
}

// apply publishes one watch response.
func (t *tableRelay) apply(resp nb.WatchResponse) {
	for _, ev := range resp.Events {
		key := ev.KV.Key
		switch ev.Type {
		case nb.EventPut:
			old, had := t.rows[key]
			action := model.ActionSet
			switch {
			case ev.Created() || !had:
				action = model.ActionCreate
			case bytes.Equal(old, ev.KV.Value):
				continue // rewritten unchanged: nothing to tell
			}
			t.rows[key] = ev.KV.Value
			t.publish(key, action, ev.KV.Value)
		case nb.EventDelete:
			t.publish(key, model.ActionDelete, nil)
			delete(t.rows, key)
		}
	}
	t.rev = max(t.rev, resp.Revision)
}

// publish sends one change; a delete's topic is the last known row's.
func (t *tableRelay) publish(key, action string, value []byte) {
	row := value
	if row == nil {
		row = t.rows[key]
	}
	u := model.DbUpdate{Table: t.table, Key: key, Action: action, Value: value, Topic: t.topic(row)}
	if err := t.pub.Publish(context.Background(), u); err != nil {
		t.st.publishErrors.Add(1)
		t.log.Warn("table change not published", "key", key, "action", action, "err", err)
		return
	}
	t.st.tableEvents.Add(1)
}

// topic is "D", or the row's topic with selective topology distribution.
func (t *tableRelay) topic(row []byte) string {
	if t.selective {
		var r struct {
			Topic string `json:"topic"`
		}
		if json.Unmarshal(row, &r) == nil && r.Topic != "" {
			return r.Topic
		}
	}
	return model.DefaultTopic
}

// retryDelay is a jittered exponential backoff (±50 %).
func retryDelay(attempt int) time.Duration {
	d := min(retryMin<<min(attempt-1, 10), retryMax)
	return d/2 + rand.N(d)
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
