package memory

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Get returns the row, or an error wrapping nb.ErrNotFound.
func (d *Driver) Get(ctx context.Context, table, key string) (nb.KV, error) {
	if err := d.begin(ctx); err != nil {
		return nb.KV{}, fmt.Errorf("memory: get %s/%s: %w", table, key, err)
	}
	defer d.mu.Unlock()
	kv := d.tables[table][key]
	if kv == nil {
		return nb.KV{}, fmt.Errorf("memory: get %s/%s: %w", table, key, nb.ErrNotFound)
	}
	return cloneKV(*kv), nil
}

// List returns table's rows (only those of topic, if not empty) sorted by key.
func (d *Driver) List(ctx context.Context, table, topic string) ([]nb.KV, int64, error) {
	if err := d.begin(ctx); err != nil {
		return nil, 0, fmt.Errorf("memory: list %s: %w", table, err)
	}
	defer d.mu.Unlock()
	rows := d.tables[table]
	out := make([]nb.KV, 0, len(rows))
	for _, kv := range rows {
		if topic == "" || topicOf(kv.Value) == topic {
			out = append(out, cloneKV(*kv))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, d.rev, nil
}

// Tables returns the sorted names of tables holding rows.
func (d *Driver) Tables(ctx context.Context) ([]string, error) {
	if err := d.begin(ctx); err != nil {
		return nil, fmt.Errorf("memory: tables: %w", err)
	}
	defer d.mu.Unlock()
	names := make([]string, 0, len(d.tables))
	for name := range d.tables {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// Create writes a new row, or fails with nb.ErrExists.
func (d *Driver) Create(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	return d.write(ctx, "create", table, key, value, opts, func(old *nb.KV) error {
		if old != nil {
			return nb.ErrExists
		}
		return nil
	})
}

// Update overwrites an existing row, at ModRevision expectRev if expectRev > 0.
func (d *Driver) Update(ctx context.Context, table, key string, value []byte, expectRev int64, opts ...nb.PutOption) (int64, error) {
	return d.write(ctx, "update", table, key, value, opts, func(old *nb.KV) error {
		return checkRev(old, expectRev)
	})
}

// Put creates or overwrites the row.
func (d *Driver) Put(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	return d.write(ctx, "put", table, key, value, opts, func(*nb.KV) error { return nil })
}

// Delete removes an existing row, at ModRevision expectRev if expectRev > 0.
func (d *Driver) Delete(ctx context.Context, table, key string, expectRev int64) error {
	err := d.begin(ctx)
	if err == nil {
		defer d.mu.Unlock()
		err = checkRev(d.tables[table][key], expectRev)
	}
	if err != nil {
		return fmt.Errorf("memory: delete %s/%s: %w", table, key, err)
	}
	d.rev++
	d.record(d.remove(table, key))
	return nil
}

// write is Create, Update and Put: check vets the current row (nil if none).
func (d *Driver) write(ctx context.Context, op, table, key string, value []byte, opts []nb.PutOption,
	check func(old *nb.KV) error) (int64, error) {
	o := nb.ApplyPutOptions(opts)
	err := validName(table, key)
	if err == nil {
		err = d.begin(ctx)
	}
	if err == nil {
		defer d.mu.Unlock()
		err = check(d.tables[table][key])
	}
	if err == nil && o.Lease != 0 && d.leases[o.Lease] == nil {
		err = fmt.Errorf("lease %d: %w", o.Lease, nb.ErrLeaseExpired)
	}
	if err != nil {
		return 0, fmt.Errorf("memory: %s %s/%s: %w", op, table, key, err)
	}
	d.rev++
	d.record(d.store(table, key, bytes.Clone(value), o.Lease))
	return d.rev, nil
}

func validName(table, key string) error {
	if table == "" || key == "" {
		return errors.New("empty table or key")
	}
	return nil
}

// checkRev is the precondition of Update and Delete.
func checkRev(old *nb.KV, expectRev int64) error {
	switch {
	case old == nil:
		return nb.ErrNotFound
	case expectRev > 0 && old.ModRevision != expectRev:
		return fmt.Errorf("%w: at revision %d, expected %d", nb.ErrVersionConflict, old.ModRevision, expectRev)
	}
	return nil
}

// store writes the row at d.rev, moving it between leases as needed, and
// returns the put event. d.mu must be held; value is owned by the store.
func (d *Driver) store(table, key string, value []byte, id nb.LeaseID) nb.Event {
	rows := d.tables[table]
	if rows == nil {
		rows = map[string]*nb.KV{}
		d.tables[table] = rows
	}
	kv := &nb.KV{Table: table, Key: key, Value: value, CreateRevision: d.rev, ModRevision: d.rev, Lease: id}
	ev := nb.Event{Type: nb.EventPut}
	if old := rows[key]; old != nil {
		kv.CreateRevision = old.CreateRevision
		ev.PrevValue = old.Value
		d.detach(old)
	}
	if l := d.leases[id]; l != nil {
		l.rows[rowRef{table, key}] = struct{}{}
	}
	rows[key] = kv
	ev.KV = *kv
	return ev
}

// remove deletes an existing row at d.rev and returns the delete event.
// d.mu must be held.
func (d *Driver) remove(table, key string) nb.Event {
	rows := d.tables[table]
	old := rows[key]
	delete(rows, key)
	if len(rows) == 0 {
		delete(d.tables, table)
	}
	d.detach(old)
	return nb.Event{
		Type:      nb.EventDelete,
		KV:        nb.KV{Table: table, Key: key, Value: old.Value, ModRevision: d.rev},
		PrevValue: old.Value,
	}
}

// topicOf returns the top-level "topic" string of a JSON object, or "".
// The field name matches exactly (encoding/json's struct decoding would
// also accept "Topic").
func topicOf(value []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(value, &obj) != nil {
		return ""
	}
	var topic string
	if json.Unmarshal(obj["topic"], &topic) != nil {
		return ""
	}
	return topic
}

func cloneKV(kv nb.KV) nb.KV {
	kv.Value = bytes.Clone(kv.Value)
	return kv
}
