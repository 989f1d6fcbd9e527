package nbapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// maxCASRetries bounds Update's read-merge-write loop under contention.
const maxCASRetries = 16

// Create writes a new object and publishes a "create" with its JSON. It fails
// with an error wrapping nb.ErrExists when the key is taken.
func (a *NbApi) Create(ctx context.Context, m model.Model, opts ...nb.PutOption) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("nbapi: create %s/%s: encode: %w", m.Table(), m.Key(), err)
	}
	if _, err := a.db.Create(ctx, m.Table(), m.Key(), data, opts...); err != nil {
		return fmt.Errorf("nbapi: create %s/%s: %w", m.Table(), m.Key(),
			a.writeFailed(ctx, m.Table(), m.Key(), m.ObjTopic(), err))
	}
	return a.publish(ctx, m.Table(), m.Key(), model.ActionCreate, data, m.ObjTopic())
}

// Update merges the fields set in m (its non-zero fields: zero values cannot
// be told from "not set", as in Dragonflow's partial updates) into the stored
// object, writes the result with a compare-and-swap on the row's
// version, and publishes a "set" carrying the merged JSON on the stored
// object's topic. When nothing changes it writes and publishes nothing and
// returns changed == false. Versioned models get version+1 unless m sets a
// newer version. On success m holds the merged object. A missing object is an
// error wrapping nb.ErrNotFound.
func (a *NbApi) Update(ctx context.Context, m model.Model, opts ...nb.PutOption) (changed bool, err error) {
	patch, err := setFields(m)
	if err != nil {
		return false, fmt.Errorf("nbapi: update %s/%s: encode: %w", m.Table(), m.Key(), err)
	}
	for range maxCASRetries {
		kv, err := a.db.Get(ctx, m.Table(), m.Key())
		if err != nil {
			return false, fmt.Errorf("nbapi: update %s/%s: %w", m.Table(), m.Key(), err)
		}
		stored, merged, err := merge(m, kv.Value, patch)
		if err != nil {
			return false, fmt.Errorf("nbapi: update %s/%s: %w", m.Table(), m.Key(), err)
		}
		before, _ := json.Marshal(stored)
		after, _ := json.Marshal(merged)
		if bytes.Equal(before, after) {
			return false, nil
		}
		bumpVersion(stored, merged)
		data, err := json.Marshal(merged)
		if err != nil {
			return false, fmt.Errorf("nbapi: update %s/%s: encode: %w", m.Table(), m.Key(), err)
		}
		_, err = a.db.Update(ctx, m.Table(), m.Key(), data, kv.ModRevision, opts...)
		if errors.Is(err, nb.ErrVersionConflict) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("nbapi: update %s/%s: %w", m.Table(), m.Key(),
				a.writeFailed(ctx, m.Table(), m.Key(), stored.ObjTopic(), err))
		}
		reflect.ValueOf(m).Elem().Set(reflect.ValueOf(merged).Elem())
		return true, a.publish(ctx, m.Table(), m.Key(), model.ActionSet, data, stored.ObjTopic())
	}
	return false, fmt.Errorf("nbapi: update %s/%s: gave up after %d concurrent modifications: %w",
		m.Table(), m.Key(), maxCASRetries, nb.ErrVersionConflict)
}

// merge decodes the stored JSON into a fresh value of m's type (stored), and
// a second one with the patch applied on top (merged). encoding/json only
// sets fields present in the input, which is exactly "merge the set fields".
// The stored JSON is decoded twice on purpose: a shallow copy of stored would
// share slices, and json decodes a patched slice into the existing backing
// array, silently changing stored too.
func merge(m model.Model, storedJSON, patch []byte) (stored, merged model.Model, err error) {
	stored, merged = newLike(m), newLike(m)
	if err := json.Unmarshal(storedJSON, stored); err != nil {
		return nil, nil, fmt.Errorf("decode stored object: %w", err)
	}
	if err := json.Unmarshal(storedJSON, merged); err != nil {
		return nil, nil, fmt.Errorf("decode stored object: %w", err)
	}
	if err := json.Unmarshal(patch, merged); err != nil {
		return nil, nil, fmt.Errorf("apply update: %w", err)
	}
	return stored, merged, nil
}

// setFields returns m's JSON without its zero-valued fields.
func setFields(m model.Model) ([]byte, error) {
	full, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(full, &fields); err != nil {
		return nil, err
	}
	for k, v := range fields {
		switch string(v) {
		case "null", `""`, "0", "false", "[]", "{}":
			delete(fields, k)
		}
	}
	return json.Marshal(fields)
}

// bumpVersion gives a changed versioned object a version above the stored one
// (Dragonflow's Version.on_update_pre), keeping an explicitly newer version.
func bumpVersion(stored, merged model.Model) {
	sv, ok1 := stored.(model.Versioned)
	mv, ok2 := merged.(model.Versioned)
	if ok1 && ok2 && mv.GetVersion() <= sv.GetVersion() {
		mv.SetVersion(sv.GetVersion() + 1)
	}
}

func newLike(m model.Model) model.Model {
	return reflect.New(reflect.TypeOf(m).Elem()).Interface().(model.Model)
}

// Delete removes the object with m's key and publishes a "delete" (value nil)
// on the stored object's topic. A missing object is an error wrapping
// nb.ErrNotFound.
func (a *NbApi) Delete(ctx context.Context, m model.Model) error {
	kv, err := a.db.Get(ctx, m.Table(), m.Key())
	if err != nil {
		return fmt.Errorf("nbapi: delete %s/%s: %w", m.Table(), m.Key(), err)
	}
	stored := newLike(m)
	topic := ""
	if json.Unmarshal(kv.Value, stored) == nil {
		topic = stored.ObjTopic()
	}
	if err := a.db.Delete(ctx, m.Table(), m.Key(), kv.ModRevision); err != nil {
		return fmt.Errorf("nbapi: delete %s/%s: %w", m.Table(), m.Key(), a.writeFailed(ctx, m.Table(), m.Key(), topic, err))
	}
	return a.publish(ctx, m.Table(), m.Key(), model.ActionDelete, nil, topic)
}

// Get fills m from the stored object with m's key. A missing object is an
// error wrapping nb.ErrNotFound.
func (a *NbApi) Get(ctx context.Context, m model.Model) error {
	kv, err := a.db.Get(ctx, m.Table(), m.Key())
	if err != nil {
		return fmt.Errorf("nbapi: get %s/%s: %w", m.Table(), m.Key(), err)
	}
	if err := json.Unmarshal(kv.Value, m); err != nil {
		return fmt.Errorf("nbapi: get %s/%s: decode: %w", m.Table(), m.Key(), err)
	}
	return nil
}

// List returns every stored object of T's table (topic "" = all topics),
// sorted by key, and the NB DB revision it was read at. Rows that do not
// decode are skipped and logged, never fatal.
func List[T any, PT interface {
	*T
	model.Model
}](ctx context.Context, a *NbApi, topic string) ([]PT, int64, error) {
	table := PT(new(T)).Table()
	kvs, rev, err := a.db.List(ctx, table, topic)
	if err != nil {
		return nil, 0, fmt.Errorf("nbapi: list %s: %w", table, err)
	}
	out := make([]PT, 0, len(kvs))
	for _, kv := range kvs {
		obj := PT(new(T))
		if err := json.Unmarshal(kv.Value, obj); err != nil {
			a.log.Warn("skipping undecodable row", "table", table, "key", kv.Key, "err", err)
			continue
		}
		out = append(out, obj)
	}
	return out, rev, nil
}

// publish sends a change on the object's topic when selective topology
// distribution is on, else on the default topic "D" (Dragonflow's
// _send_db_change_event), in both the frame and the body.
func (a *NbApi) publish(ctx context.Context, table, key, action string, value []byte, topic string) error {
	if a.pub == nil {
		return nil
	}
	if !a.selective || topic == "" {
		topic = model.DefaultTopic
	}
	u := model.DbUpdate{Table: table, Key: key, Action: action, Value: value, Topic: topic}
	if err := a.pub.Publish(ctx, u); err != nil {
		a.log.Warn("change written but not published; subscribers will see a gap",
			"table", table, "key", key, "action", action, "err", err)
		return fmt.Errorf("%w: %s %s/%s: %w", ErrNotPublished, action, table, key, err)
	}
	return nil
}
