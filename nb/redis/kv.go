package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dragonflow-go/dragonflow/nb"
)

// reply is a script's answer: a status, then strings.
type reply []string

// run runs a script and returns its answer as strings.
func (d *Driver) run(ctx context.Context, s *goredis.Script, args ...any) (reply, error) {
	vals, err := s.Run(ctx, d.cli, nil, append([]any{d.prefix}, args...)...).Slice()
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, nb.ErrClosed) {
			return nil, fmt.Errorf("%w: %w", cause, err)
		}
		return nil, err
	}
	out := make(reply, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case string:
			out[i] = v
		case int64:
			out[i] = strconv.FormatInt(v, 10)
		default:
			return nil, fmt.Errorf("unexpected script reply element %T", v)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty script reply")
	}
	return out, nil
}

func (r reply) int(i int) int64 {
	if i >= len(r) {
		return 0
	}
	n, _ := strconv.ParseInt(r[i], 10, 64)
	return n
}

// status maps a script status to an nb error (nil for "ok").
func status(r reply) error {
	switch r[0] {
	case "ok":
		return nil
	case "notfound":
		return nb.ErrNotFound
	case "exists":
		return nb.ErrExists
	case "conflict":
		return nb.ErrVersionConflict
	case "lease":
		return nb.ErrLeaseExpired
	case "compacted":
		return nb.ErrCompacted
	}
	return fmt.Errorf("script status %q", r[0])
}

func subject(table, key string) string { return table + "/" + key }

// Get implements nb.Driver.
func (d *Driver) Get(ctx context.Context, table, key string) (nb.KV, error) {
	ctx, done, err := d.begin(ctx, "get", table)
	if err != nil {
		return nb.KV{}, err
	}
	defer done()
	r, err := d.run(ctx, scriptGet, table, key)
	if err == nil {
		err = status(r)
	}
	if err != nil {
		return nb.KV{}, d.wrap("get", subject(table, key), err)
	}
	return nb.KV{
		Table: table, Key: key, Value: []byte(r[1]),
		CreateRevision: r.int(2), ModRevision: r.int(3), Lease: nb.LeaseID(r.int(4)),
	}, nil
}

// List implements nb.Driver: one script reads every row of the table (and
// the revision) at once.
func (d *Driver) List(ctx context.Context, table, topic string) ([]nb.KV, int64, error) {
	ctx, done, err := d.begin(ctx, "list", table)
	if err != nil {
		return nil, 0, err
	}
	defer done()
	filter := "0"
	if topic != "" {
		filter = "1"
	}
	r, err := d.run(ctx, scriptList, table, filter, topic)
	if err != nil {
		return nil, 0, d.wrap("list", table, err)
	}
	if (len(r)-1)%5 != 0 {
		return nil, 0, d.wrap("list", table, fmt.Errorf("malformed script reply of %d elements", len(r)))
	}
	kvs := make([]nb.KV, 0, (len(r)-1)/5)
	for i := 1; i < len(r); i += 5 {
		kvs = append(kvs, nb.KV{
			Table: table, Key: r[i], Value: []byte(r[i+1]),
			CreateRevision: r.int(i + 2), ModRevision: r.int(i + 3), Lease: nb.LeaseID(r.int(i + 4)),
		})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return kvs, r.int(0), nil
}

// Tables implements nb.Driver.
func (d *Driver) Tables(ctx context.Context) ([]string, error) {
	ctx, done, err := d.begin(ctx, "tables")
	if err != nil {
		return nil, err
	}
	defer done()
	names, err := d.cli.SMembers(ctx, d.prefix+"tables").Result()
	if err != nil {
		return nil, d.wrap("tables", "", err)
	}
	sort.Strings(names)
	return names, nil
}

// Create implements nb.Driver.
func (d *Driver) Create(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	return d.write(ctx, "create", table, key, value, 0, opts)
}

// Update implements nb.Driver.
func (d *Driver) Update(ctx context.Context, table, key string, value []byte, expectRev int64, opts ...nb.PutOption) (int64, error) {
	return d.write(ctx, "update", table, key, value, expectRev, opts)
}

// Put implements nb.Driver.
func (d *Driver) Put(ctx context.Context, table, key string, value []byte, opts ...nb.PutOption) (int64, error) {
	return d.write(ctx, "put", table, key, value, 0, opts)
}

func (d *Driver) write(ctx context.Context, mode, table, key string, value []byte, expectRev int64, opts []nb.PutOption) (int64, error) {
	ctx, done, err := d.begin(ctx, mode, table)
	if err != nil {
		return 0, err
	}
	defer done()
	o := nb.ApplyPutOptions(opts)
	r, err := d.run(ctx, scriptWrite, mode, table, key, value, topicOf(value), expectRev, int64(o.Lease), d.history)
	if err == nil {
		err = status(r)
	}
	if err != nil {
		if errors.Is(err, nb.ErrLeaseExpired) {
			return 0, d.wrap(mode, subject(table, key), fmt.Errorf("lease %d: %w", o.Lease, err))
		}
		return 0, d.wrap(mode, subject(table, key), err)
	}
	return r.int(1), nil
}

// Delete implements nb.Driver.
func (d *Driver) Delete(ctx context.Context, table, key string, expectRev int64) error {
	ctx, done, err := d.begin(ctx, "delete", table)
	if err != nil {
		return err
	}
	defer done()
	r, err := d.run(ctx, scriptDelete, table, key, expectRev, d.history)
	if err == nil {
		err = status(r)
	}
	return d.wrap("delete", subject(table, key), err)
}

// Compact implements nb.Driver: it trims the change log before rev.
func (d *Driver) Compact(ctx context.Context, rev int64) error {
	ctx, done, err := d.begin(ctx, "compact")
	if err != nil {
		return err
	}
	defer done()
	r, err := d.run(ctx, scriptCompact, rev)
	if err != nil {
		return d.wrap("compact", strconv.FormatInt(rev, 10), err)
	}
	switch r[0] {
	case "future":
		return d.wrap("compact", strconv.FormatInt(rev, 10), fmt.Errorf("revision is ahead of the store (at %s)", r[1]))
	case "compacted":
		return d.wrap("compact", strconv.FormatInt(rev, 10), fmt.Errorf("%w (compacted at %s)", nb.ErrCompacted, r[1]))
	}
	return d.wrap("compact", strconv.FormatInt(rev, 10), status(r))
}

// Revision implements nb.Driver.
func (d *Driver) Revision(ctx context.Context) (int64, error) {
	ctx, done, err := d.begin(ctx, "revision")
	if err != nil {
		return 0, err
	}
	defer done()
	cur, _, err := d.state(ctx)
	return cur, d.wrap("revision", "", err)
}

// state returns the current revision and the floor (the first revision
// whose history the change log holds completely; 0: all of it).
func (d *Driver) state(ctx context.Context) (cur, floor int64, err error) {
	r, err := d.run(ctx, scriptState)
	if err != nil {
		return 0, 0, err
	}
	if len(r) != 2 {
		return 0, 0, fmt.Errorf("malformed state reply %q", r)
	}
	return r.int(0), r.int(1), nil
}
