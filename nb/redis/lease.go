package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/dragonflow-go/dragonflow/nb"
)

// ttlMillis rounds ttl up to whole seconds, at least 1 s (nb.Driver.Grant).
func ttlMillis(ttl time.Duration) int64 {
	secs := int64((ttl + time.Second - 1) / time.Second)
	return max(secs, 1) * 1000
}

// Grant implements nb.Driver. The lease's deadline is kept on the Redis
// server's clock (TIME inside the script), so no two hosts' clocks are
// ever compared.
func (d *Driver) Grant(ctx context.Context, ttl time.Duration) (nb.LeaseID, error) {
	ctx, done, err := d.begin(ctx, "grant")
	if err != nil {
		return 0, err
	}
	defer done()
	r, err := d.run(ctx, scriptGrant, ttlMillis(ttl))
	if err != nil {
		return 0, d.wrap("grant", ttl.String(), err)
	}
	return nb.LeaseID(r.int(0)), nil
}

// KeepAlive implements nb.Driver.
func (d *Driver) KeepAlive(ctx context.Context, id nb.LeaseID) error {
	return d.leaseOp(ctx, "keepalive", id)
}

// Revoke implements nb.Driver: the lease's rows are deleted at one
// revision.
func (d *Driver) Revoke(ctx context.Context, id nb.LeaseID) error {
	return d.leaseOp(ctx, "revoke", id)
}

func (d *Driver) leaseOp(ctx context.Context, op string, id nb.LeaseID) error {
	ctx, done, err := d.begin(ctx, op)
	if err != nil {
		return err
	}
	defer done()
	s := scriptKeepAlive
	if op == "revoke" {
		s = scriptRevoke
	}
	r, err := d.run(ctx, s, int64(id), d.history)
	if err == nil {
		err = status(r)
	}
	return d.wrap(op, fmt.Sprintf("lease %d", id), err)
}
