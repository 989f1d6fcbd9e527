package neutron

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// Side tables of the neutron server. Their rows are written with the NB DB
// driver directly and never published: no other role reads them.
const (
	// TableExtra holds, per resource, the Neutron attributes the NB models
	// do not carry (extra), at key "<resource>/<id>" (resource: network,
	// subnet, port).
	TableExtra = "neutron_extra"
	// TableIPAM holds one row per allocated fixed IP, at key
	// "<subnet id>/<ip>", value {"port_id": ...}. Creating the row is the
	// allocation: the NB DB's create-if-absent makes it atomic across
	// worker processes.
	TableIPAM = "neutron_ipam"
)

// maxReplaceRetries bounds the compare-and-swap loop of replace.
const maxReplaceRetries = 16

// extra is the row of TableExtra: what Neutron returns that the NB models
// do not hold. Missing rows read as the zero extra (admin_state_up true).
type extra struct {
	Description     string   `json:"description,omitempty"`
	AdminStateDown  bool     `json:"admin_state_down,omitempty"` // networks; ports use LogicalPort.Enabled
	CreatedAt       string   `json:"created_at,omitempty"`
	UpdatedAt       string   `json:"updated_at,omitempty"`
	Tags            []string `json:"tags,omitempty"`
	Shared          bool     `json:"shared,omitempty"`
	IPVersion       int      `json:"ip_version,omitempty"`
	AllocationPools []pool   `json:"allocation_pools,omitempty"`
	NoGateway       bool     `json:"no_gateway,omitempty"`
}

// ipamRow is the value of a TableIPAM row.
type ipamRow struct {
	PortID string `json:"port_id"`
}

// store is the API's access to the NB DB: models through the NbApi, side
// tables through its driver. Every successful publish and every
// nbapi.ErrNotPublished is counted here.
type store struct {
	nb    *nbapi.NbApi
	db    nb.Driver
	log   *slog.Logger
	stats *APIStats
	now   func() time.Time
}

func extraKey(resource, id string) string { return resource + "/" + id }

func (s *store) timestamp() string { return s.now().UTC().Format(time.RFC3339) }

// getExtra reads the extra of resource/id; a missing row is the zero extra.
func (s *store) getExtra(ctx context.Context, resource, id string) (extra, error) {
	var ex extra
	kv, err := s.db.Get(ctx, TableExtra, extraKey(resource, id))
	if errors.Is(err, nb.ErrNotFound) {
		return ex, nil
	}
	if err != nil {
		return ex, fmt.Errorf("neutron: read %s %s attributes: %w", resource, id, err)
	}
	if err := json.Unmarshal(kv.Value, &ex); err != nil {
		s.log.Warn("undecodable side-table row; using defaults", "table", TableExtra, "key", kv.Key, "err", err)
	}
	return ex, nil
}

// extras reads every extra of resource, by id.
func (s *store) extras(ctx context.Context, resource string) (map[string]extra, error) {
	kvs, _, err := s.db.List(ctx, TableExtra, "")
	if err != nil {
		return nil, fmt.Errorf("neutron: list %s attributes: %w", resource, err)
	}
	out := make(map[string]extra, len(kvs))
	prefix := resource + "/"
	for _, kv := range kvs {
		id, ok := strings.CutPrefix(kv.Key, prefix)
		if !ok {
			continue
		}
		var ex extra
		if json.Unmarshal(kv.Value, &ex) == nil {
			out[id] = ex
		}
	}
	return out, nil
}

func (s *store) putExtra(ctx context.Context, resource, id string, ex extra) error {
	data, err := json.Marshal(ex)
	if err != nil {
		return fmt.Errorf("neutron: encode %s %s attributes: %w", resource, id, err)
	}
	if _, err := s.db.Put(ctx, TableExtra, extraKey(resource, id), data); err != nil {
		return fmt.Errorf("neutron: write %s %s attributes: %w", resource, id, err)
	}
	return nil
}

// deleteExtra removes the extra of resource/id; a missing row is fine.
func (s *store) deleteExtra(ctx context.Context, resource, id string) {
	err := s.db.Delete(ctx, TableExtra, extraKey(resource, id), 0)
	if err != nil && !errors.Is(err, nb.ErrNotFound) {
		s.log.Warn("could not delete side-table row; it is orphaned", "key", extraKey(resource, id), "err", err)
	}
}

// written accounts for the result of an NbApi write: nil and
// nbapi.ErrNotPublished (the write happened; subscribers will see a gap)
// are success for the client, the latter logged and counted.
func (s *store) written(op string, m model.Model, err error) error {
	switch {
	case err == nil:
		s.stats.published.Add(1)
		return nil
	case errors.Is(err, nbapi.ErrNotPublished):
		s.stats.publishFailures.Add(1)
		s.log.Warn("NB DB write done but not published; subscribers will resync on the gap",
			"op", op, "table", m.Table(), "key", m.Key(), "err", err)
		return nil
	}
	return fmt.Errorf("neutron: %s %s/%s: %w", op, m.Table(), m.Key(), err)
}

func (s *store) create(ctx context.Context, m model.Model) error {
	return s.written("create", m, s.nb.Create(ctx, m))
}

func (s *store) delete(ctx context.Context, m model.Model) error {
	return s.written("delete", m, s.nb.Delete(ctx, m))
}

// get fills m; a missing row is ErrNotFound-wrapped.
func (s *store) get(ctx context.Context, m model.Model) error {
	return s.nb.Get(ctx, m)
}

// replace writes the whole object that edit makes of the stored one (a
// fresh copy per attempt), with a compare-and-swap on the row, and
// publishes a "set" with the new JSON, as NbApi.Update does. Unlike
// NbApi.Update it can clear a field (Neutron's PUT may set a name to "" or
// remove every allowed address pair), and it bumps the version even when
// only side-table attributes changed (force), since revision_number must
// move on every update. It returns the written object; when nothing
// changed and !force, nothing is written or published.
func replace[T any, PT interface {
	*T
	model.Versioned
}](ctx context.Context, s *store, id string, force bool, edit func(PT) error) (PT, error) {
	table := PT(new(T)).Table()
	for range maxReplaceRetries {
		kv, err := s.db.Get(ctx, table, id)
		if err != nil {
			return nil, fmt.Errorf("neutron: update %s/%s: %w", table, id, err)
		}
		obj := PT(new(T))
		if err := json.Unmarshal(kv.Value, obj); err != nil {
			return nil, fmt.Errorf("neutron: update %s/%s: decode stored object: %w", table, id, err)
		}
		version := obj.GetVersion()
		if err := edit(obj); err != nil {
			return nil, err
		}
		data, err := json.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("neutron: update %s/%s: encode: %w", table, id, err)
		}
		if !force && bytes.Equal(data, kv.Value) {
			return obj, nil
		}
		obj.SetVersion(version + 1)
		// Replace writes with a compare-and-swap and publishes the set; a
		// write of unknown outcome makes it send a resync marker.
		err = s.nb.Replace(ctx, obj, kv.ModRevision)
		if errors.Is(err, nb.ErrVersionConflict) {
			continue
		}
		return obj, s.written("update", obj, err)
	}
	return nil, fmt.Errorf("neutron: update %s/%s: gave up after %d concurrent modifications: %w",
		table, id, maxReplaceRetries, nb.ErrVersionConflict)
}
