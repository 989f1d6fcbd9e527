package etcd

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Grant implements nb.Driver. The TTL is rounded up to whole seconds, at
// least 1; etcd may grant more than asked (its minimum TTL is 1.5 election
// timeouts, rounded up to a second).
func (d *Driver) Grant(ctx context.Context, ttl time.Duration) (nb.LeaseID, error) {
	ctx, done, err := d.begin(ctx, "grant")
	if err != nil {
		return 0, err
	}
	defer done()
	secs := max(int64((ttl+time.Second-1)/time.Second), 1)
	resp, err := d.cli.Grant(ctx, secs)
	if err != nil {
		return 0, d.wrap("grant", fmt.Sprintf("lease of %ds", secs), err)
	}
	return nb.LeaseID(resp.ID), nil
}

// KeepAlive implements nb.Driver with one KeepAliveOnce; a lease that is
// gone gives an error wrapping nb.ErrLeaseExpired.
func (d *Driver) KeepAlive(ctx context.Context, id nb.LeaseID) error {
	ctx, done, err := d.begin(ctx, "keepalive")
	if err != nil {
		return err
	}
	defer done()
	_, err = d.cli.KeepAliveOnce(ctx, clientv3.LeaseID(id))
	return d.wrap("keepalive", leaseName(id), err)
}

// Revoke implements nb.Driver; a lease that is gone gives an error wrapping
// nb.ErrLeaseExpired.
func (d *Driver) Revoke(ctx context.Context, id nb.LeaseID) error {
	ctx, done, err := d.begin(ctx, "revoke")
	if err != nil {
		return err
	}
	defer done()
	_, err = d.cli.Revoke(ctx, clientv3.LeaseID(id))
	return d.wrap("revoke", leaseName(id), err)
}

// leaseName formats a lease ID as etcdctl does (hex).
func leaseName(id nb.LeaseID) string { return fmt.Sprintf("lease %x", int64(id)) }
