package discovery

import (
	"errors"
	"maps"
	"slices"

	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// This file holds the membership state of a Discovery and its
// reconciliation with the Target. Only the discovery's goroutine (and
// Discover, before starting it) calls these methods; d.mu guards only what
// Publishers and Stats read.

// entry is a wanted row: valid, of a wanted role, not excluded.
type entry struct {
	info      PublisherInfo
	createRev int64
}

// prefer reports whether a should be connected rather than b when both
// advertise one uri: the newer incarnation wins (higher epoch, then the
// row created later), then the smaller id, so every subscriber picks the
// same one.
func prefer(a, b entry) bool {
	if a.info.Epoch != b.info.Epoch {
		return a.info.Epoch > b.info.Epoch
	}
	if a.createRev != b.createRev {
		return a.createRev > b.createRev
	}
	return a.info.ID < b.info.ID
}

// accept decodes a put of the publisher table and applies the filter. It
// counts and logs undecodable rows.
func (d *Discovery) accept(kv nb.KV) (entry, bool) {
	if kv.Key == d.o.excludeID {
		return entry{}, false
	}
	info, err := decodeRow(kv.Key, kv.Value)
	if err != nil {
		d.mu.Lock()
		d.stats.InvalidRows++
		d.mu.Unlock()
		d.log.Warn("publisher discovery: skipping a publisher row", "id", kv.Key, "err", err)
		return entry{}, false
	}
	if !d.roles[info.Role] {
		return entry{}, false
	}
	return entry{info: info, createRev: kv.CreateRevision}, true
}

// set records the wanted row of id (ok false: none) and returns the ids
// whose connection may change: id and every row sharing its old or new uri.
func (d *Discovery) set(id string, e entry, ok bool) []string {
	affected := []string{id}
	if old, had := d.rows[id]; had {
		d.unindex(id, old.info.URI)
		affected = append(affected, slices.Collect(maps.Keys(d.byURI[old.info.URI]))...)
		delete(d.rows, id)
	}
	if ok {
		d.rows[id] = e
		if d.byURI[e.info.URI] == nil {
			d.byURI[e.info.URI] = map[string]struct{}{}
		}
		d.byURI[e.info.URI][id] = struct{}{}
		group := d.byURI[e.info.URI]
		affected = append(affected, slices.Collect(maps.Keys(group))...)
		if len(group) > 1 {
			d.log.Info("publisher discovery: several publishers advertise one uri; connecting only the newest",
				"uri", e.info.URI, "ids", slices.Sorted(maps.Keys(group)), "connecting", d.winner(e.info.URI))
		}
	}
	return affected
}

func (d *Discovery) unindex(id, uri string) {
	delete(d.byURI[uri], id)
	if len(d.byURI[uri]) == 0 {
		delete(d.byURI, uri)
	}
}

// winner is the id connected for uri.
func (d *Discovery) winner(uri string) string {
	best := ""
	for id := range d.byURI[uri] {
		if best == "" || prefer(d.rows[id], d.rows[best]) {
			best = id
		}
	}
	return best
}

// desired returns the row id should be connected with, if any.
func (d *Discovery) desired(id string) (PublisherInfo, bool) {
	e, ok := d.rows[id]
	if !ok || d.winner(e.info.URI) != id {
		return PublisherInfo{}, false
	}
	return e.info, true
}

// allIDs is every id wanted or registered.
func (d *Discovery) allIDs() []string {
	ids := slices.Collect(maps.Keys(d.rows))
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.have {
		if _, ok := d.rows[id]; !ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// reconcileResult counts what a reconcile changed on the target.
type reconcileResult struct {
	registered, unregistered int
	failed                   bool
}

// reconcile brings the target in line for ids: first it unregisters what
// must go, then registers what is new or moved, so one uri never has two
// connections, even for a moment. RegisterPublisher of an id the target
// has replaces its connection (the Target contract), so a moved publisher
// is never connected twice either. Failures are logged and counted and
// leave the id for the retry.
func (d *Discovery) reconcile(ids []string) reconcileResult {
	var res reconcileResult
	slices.Sort(ids)
	ids = slices.Compact(ids)
	blocked := map[string]bool{} // uris whose old connection could not be dropped
	for _, id := range ids {
		h, has := d.registered(id)
		if _, want := d.desired(id); !has || want {
			continue
		}
		err := d.target.UnregisterPublisher(id)
		if err != nil && !errors.Is(err, pubsub.ErrUnknownPublisher) {
			blocked[h.URI] = true
			d.targetFailed(&res, "unregister", h, err)
			continue
		}
		d.mu.Lock()
		delete(d.have, id)
		d.mu.Unlock()
		res.unregistered++
		d.log.Info("publisher discovery: disconnected publisher", "id", id, "uri", h.URI)
	}
	for _, id := range ids {
		want, ok := d.desired(id)
		if !ok {
			continue
		}
		h, has := d.registered(id)
		if has && h.Endpoint() == want.Endpoint() {
			d.mu.Lock()
			d.have[id] = want // epoch, host or pid may have changed
			d.mu.Unlock()
			continue
		}
		if blocked[want.URI] {
			res.failed = true
			continue
		}
		if err := d.target.RegisterPublisher(want.Endpoint()); err != nil {
			d.targetFailed(&res, "register", want, err)
			continue
		}
		d.mu.Lock()
		d.have[id] = want
		d.mu.Unlock()
		res.registered++
		if has {
			d.log.Info("publisher discovery: publisher moved", "id", id, "role", want.Role, "uri", want.URI,
				"old_role", h.Role, "old_uri", h.URI)
		} else {
			d.log.Info("publisher discovery: connected publisher", "id", id, "role", want.Role, "uri", want.URI)
		}
	}
	return res
}

func (d *Discovery) registered(id string) (PublisherInfo, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	h, ok := d.have[id]
	return h, ok
}

func (d *Discovery) targetFailed(res *reconcileResult, op string, p PublisherInfo, err error) {
	res.failed = true
	d.mu.Lock()
	d.stats.TargetErrors++
	d.mu.Unlock()
	d.log.Warn("publisher discovery: subscriber refused a change; will retry", "op", op,
		"id", p.ID, "uri", p.URI, "err", err)
}
