package etcd

import (
	"context"
	"fmt"
	"sort"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/nb"
)

// Get implements nb.Driver: a linearizable read of /<table>/<key>.
func (d *Driver) Get(ctx context.Context, table, key string) (nb.KV, error) {
	ctx, done, err := d.begin(ctx, "get", table)
	if err != nil {
		return nb.KV{}, err
	}
	defer done()
	k := rowKey(table, key)
	resp, err := d.cli.Get(ctx, k)
	if err != nil {
		return nb.KV{}, d.wrap("get", k, err)
	}
	if len(resp.Kvs) == 0 {
		return nb.KV{}, fmt.Errorf("etcd: get %s: %w", k, nb.ErrNotFound)
	}
	return toKV(table, resp.Kvs[0]), nil
}

// List implements nb.Driver with one range read of the prefix /<table>/
// (so all rows come from one revision), filtered by the top-level JSON
// "topic" field when topic is not empty.
func (d *Driver) List(ctx context.Context, table, topic string) ([]nb.KV, int64, error) {
	ctx, done, err := d.begin(ctx, "list", table)
	if err != nil {
		return nil, 0, err
	}
	defer done()
	prefix := tablePrefix(table)
	resp, err := d.cli.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, 0, d.wrap("list", prefix, err)
	}
	kvs := make([]nb.KV, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		if topic == "" || topicOf(kv.Value) == topic {
			kvs = append(kvs, toKV(table, kv))
		}
	}
	return kvs, resp.Header.Revision, nil
}

// Tables implements nb.Driver with a keys-only read of every key under "/",
// keeping first segments of keys shaped /<table>/<key> and skipping the
// pub/sub keyspace /pubsub/.
func (d *Driver) Tables(ctx context.Context) ([]string, error) {
	ctx, done, err := d.begin(ctx, "tables")
	if err != nil {
		return nil, err
	}
	defer done()
	resp, err := d.cli.Get(ctx, "/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, d.wrap("tables", "/", err)
	}
	seen := map[string]bool{}
	for _, kv := range resp.Kvs {
		if t, ok := tableOf(string(kv.Key)); ok && t != pubsubTable {
			seen[t] = true
		}
	}
	tables := make([]string, 0, len(seen))
	for t := range seen {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	return tables, nil
}

// Create implements nb.Driver: a transaction putting the row only if its
// CreateRevision is 0 (absent).
func (d *Driver) Create(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	ctx, done, err := d.begin(ctx, "create", table)
	if err != nil {
		return 0, err
	}
	defer done()
	k := rowKey(table, key)
	return d.condWrite(ctx, "create", k,
		clientv3.Compare(clientv3.CreateRevision(k), "=", 0),
		clientv3.OpPut(k, string(value), putOpts(opts)...), nb.ErrExists)
}

// Update implements nb.Driver: a transaction putting the row only if its
// ModRevision equals expectRev (expectRev > 0) or it exists (expectRev == 0).
// Like any etcd put, the row's lease becomes the one given by nb.WithLease,
// or none.
func (d *Driver) Update(ctx context.Context, table, key string, value []byte, expectRev int64, opts ...nb.PutOption) (int64, error) {
	ctx, done, err := d.begin(ctx, "update", table)
	if err != nil {
		return 0, err
	}
	defer done()
	k := rowKey(table, key)
	return d.condWrite(ctx, "update", k, expect(k, expectRev),
		clientv3.OpPut(k, string(value), putOpts(opts)...), nb.ErrVersionConflict)
}

// Put implements nb.Driver: an unconditional put.
func (d *Driver) Put(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	ctx, done, err := d.begin(ctx, "put", table)
	if err != nil {
		return 0, err
	}
	defer done()
	k := rowKey(table, key)
	resp, err := d.cli.Put(ctx, k, string(value), putOpts(opts)...)
	if err != nil {
		return 0, d.wrap("put", k, err)
	}
	return resp.Header.Revision, nil
}

// Delete implements nb.Driver: a transaction deleting the row only if its
// ModRevision equals expectRev (expectRev > 0) or it exists (expectRev == 0).
func (d *Driver) Delete(ctx context.Context, table, key string, expectRev int64) error {
	ctx, done, err := d.begin(ctx, "delete", table)
	if err != nil {
		return err
	}
	defer done()
	k := rowKey(table, key)
	_, err = d.condWrite(ctx, "delete", k, expect(k, expectRev), clientv3.OpDelete(k), nb.ErrVersionConflict)
	return err
}

// Compact implements nb.Driver. Compacting at or below the current compact
// revision fails with an error wrapping nb.ErrCompacted; beyond the current
// revision, with etcd's ErrFutureRev.
func (d *Driver) Compact(ctx context.Context, rev int64) error {
	ctx, done, err := d.begin(ctx, "compact")
	if err != nil {
		return err
	}
	defer done()
	_, err = d.cli.Compact(ctx, rev)
	return d.wrap("compact", fmt.Sprintf("at revision %d", rev), err)
}

// Revision implements nb.Driver with a count-only read.
func (d *Driver) Revision(ctx context.Context) (int64, error) {
	ctx, done, err := d.begin(ctx, "revision")
	if err != nil {
		return 0, err
	}
	defer done()
	resp, err := d.cli.Get(ctx, "/", clientv3.WithCountOnly())
	if err != nil {
		return 0, d.wrap("revision", "", err)
	}
	return resp.Header.Revision, nil
}

// expect is the compare for an expected revision: ModRevision == rev, or,
// for rev == 0, existence (CreateRevision > 0).
func expect(k string, rev int64) clientv3.Cmp {
	if rev == 0 {
		return clientv3.Compare(clientv3.CreateRevision(k), ">", 0)
	}
	return clientv3.Compare(clientv3.ModRevision(k), "=", rev)
}

// condWrite runs then if cond holds and returns the new store revision.
// Otherwise the same transaction counts the key, and the error wraps
// nb.ErrNotFound when it is absent, else conflict.
func (d *Driver) condWrite(ctx context.Context, op, k string, cond clientv3.Cmp, then clientv3.Op, conflict error) (int64, error) {
	resp, err := d.cli.Txn(ctx).If(cond).Then(then).Else(clientv3.OpGet(k, clientv3.WithCountOnly())).Commit()
	if err != nil {
		return 0, d.wrap(op, k, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	if resp.Responses[0].GetResponseRange().GetCount() == 0 {
		return 0, fmt.Errorf("etcd: %s %s: %w", op, k, nb.ErrNotFound)
	}
	return 0, fmt.Errorf("etcd: %s %s: %w", op, k, conflict)
}

// putOpts converts nb put options to etcd ones.
func putOpts(opts []nb.PutOption) []clientv3.OpOption {
	if o := nb.ApplyPutOptions(opts); o.Lease != 0 {
		return []clientv3.OpOption{clientv3.WithLease(clientv3.LeaseID(o.Lease))}
	}
	return nil
}
