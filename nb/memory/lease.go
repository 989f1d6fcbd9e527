package memory

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/nb"
)

type rowRef struct{ table, key string }

type lease struct {
	id    nb.LeaseID
	ttl   time.Duration
	rows  map[rowRef]struct{}
	timer clock.Timer
	gen   uint64 // bumped on each arm; a timer of an older generation is stale
}

// Grant creates a lease whose TTL is ttl rounded up to whole seconds (at
// least 1 s), counted on the driver's clock.
func (d *Driver) Grant(ctx context.Context, ttl time.Duration) (nb.LeaseID, error) {
	if err := d.begin(ctx); err != nil {
		return 0, fmt.Errorf("memory: grant: %w", err)
	}
	defer d.mu.Unlock()
	secs := max((ttl+time.Second-1)/time.Second, 1)
	d.lastLease++
	l := &lease{id: d.lastLease, ttl: secs * time.Second, rows: map[rowRef]struct{}{}}
	d.leases[l.id] = l
	d.arm(l)
	return l.id, nil
}

// KeepAlive restarts the lease's full TTL.
func (d *Driver) KeepAlive(ctx context.Context, id nb.LeaseID) error {
	l, err := d.beginLease(ctx, id)
	if err != nil {
		return fmt.Errorf("memory: keepalive: %w", err)
	}
	defer d.mu.Unlock()
	d.disarm(l)
	d.arm(l)
	return nil
}

// Revoke ends the lease and deletes its rows (at one revision, as etcd does).
func (d *Driver) Revoke(ctx context.Context, id nb.LeaseID) error {
	l, err := d.beginLease(ctx, id)
	if err != nil {
		return fmt.Errorf("memory: revoke: %w", err)
	}
	defer d.mu.Unlock()
	d.disarm(l)
	d.drop(l)
	return nil
}

// beginLease is begin plus a lookup of a live lease.
func (d *Driver) beginLease(ctx context.Context, id nb.LeaseID) (*lease, error) {
	if err := d.begin(ctx); err != nil {
		return nil, err
	}
	l := d.leases[id]
	if l == nil {
		d.mu.Unlock()
		return nil, fmt.Errorf("lease %d: %w", id, nb.ErrLeaseExpired)
	}
	return l, nil
}

// arm starts l's expiry timer. d.mu must be held and the driver open.
func (d *Driver) arm(l *lease) {
	l.gen++
	gen := l.gen
	d.timers.Add(1)
	l.timer = d.clock.AfterFunc(l.ttl, func() { d.expire(l.id, gen) })
}

// disarm stops l's timer; a callback already started finishes on its own.
// d.mu must be held.
func (d *Driver) disarm(l *lease) {
	if l.timer.Stop() {
		d.timers.Done()
	}
}

// expire is the timer callback of generation gen of lease id.
func (d *Driver) expire(id nb.LeaseID, gen uint64) {
	defer d.timers.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.leases[id]
	if d.closed || l == nil || l.gen != gen {
		return
	}
	d.log.Debug("nb memory lease expired", "lease", id, "rows", len(l.rows))
	d.drop(l)
}

// drop forgets l and deletes its rows, all at one new revision (none if it
// has no rows). d.mu must be held.
func (d *Driver) drop(l *lease) {
	delete(d.leases, l.id)
	if len(l.rows) == 0 {
		return
	}
	refs := make([]rowRef, 0, len(l.rows))
	for r := range l.rows {
		refs = append(refs, r)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].table != refs[j].table {
			return refs[i].table < refs[j].table
		}
		return refs[i].key < refs[j].key
	})
	d.rev++
	for _, r := range refs {
		d.record(d.remove(r.table, r.key))
	}
}

// detach unlinks a row that is being overwritten or deleted from its lease.
// d.mu must be held.
func (d *Driver) detach(kv *nb.KV) {
	if l := d.leases[kv.Lease]; l != nil {
		delete(l.rows, rowRef{kv.Table, kv.Key})
	}
}
