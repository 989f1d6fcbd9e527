// Package nb defines the northbound (NB) database driver contract used by every
// dragonflow-go process, and a registry of drivers by name.
//
// Rows live at /<table>/<key> (Dragonflow's layout). A row's value is the
// object's JSON exactly as Dragonflow stores it; the row's topic is the
// top-level "topic" string field of that JSON (absent or non-JSON: no topic).
// Revisions are store-wide and strictly increasing: every write gets a new
// revision, and a KV's ModRevision doubles as its version for
// compare-and-swap.
package nb

import (
	"context"
	"errors"
	"time"
)

// Errors returned by drivers. Drivers wrap them with %w and context; compare
// with errors.Is.
var (
	// ErrNotFound: the row does not exist. (A missing lease is
	// ErrLeaseExpired: etcd cannot tell expired from never granted.)
	ErrNotFound = errors.New("nb: not found")
	// ErrExists: Create found a row already at that key.
	ErrExists = errors.New("nb: already exists")
	// ErrVersionConflict: the row's ModRevision differs from the expected one.
	ErrVersionConflict = errors.New("nb: version conflict")
	// ErrCompacted: a watch asked for history that has been compacted away.
	// The caller must relist and watch again from the listed revision + 1.
	ErrCompacted = errors.New("nb: required revision has been compacted")
	// ErrClosed: the driver was closed.
	ErrClosed = errors.New("nb: driver closed")
	// ErrLeaseExpired: the lease is gone (expired, revoked or never
	// granted); register again. Also returned by a write WithLease of such
	// a lease.
	ErrLeaseExpired = errors.New("nb: lease expired or revoked")
)

// LeaseID names a lease. Zero means "no lease".
type LeaseID int64

// KV is one row.
type KV struct {
	Table          string
	Key            string
	Value          []byte
	CreateRevision int64 // revision at which the row was created
	ModRevision    int64 // revision of the last write; the row's version for CAS
	Lease          LeaseID
}

// EventType says what happened to a row.
type EventType int

const (
	// EventPut: created or modified. Created when KV.CreateRevision == KV.ModRevision.
	EventPut EventType = iota + 1
	// EventDelete: deleted explicitly or by lease expiry. KV carries the table,
	// key and ModRevision of the deletion; Value is the last value when the
	// driver knows it (PrevValue), else nil.
	EventDelete
)

func (t EventType) String() string {
	switch t {
	case EventPut:
		return "put"
	case EventDelete:
		return "delete"
	}
	return "unknown"
}

// Event is one change of one row.
type Event struct {
	Type EventType
	KV   KV
	// PrevValue is the value before the change, when the driver knows it.
	PrevValue []byte
}

// Created reports whether a put event created the row.
func (e Event) Created() bool { return e.Type == EventPut && e.KV.CreateRevision == e.KV.ModRevision }

// WatchResponse is one batch of events, in revision order, or a terminal error.
type WatchResponse struct {
	Events []Event
	// Revision is the store revision this response brings the watcher up to.
	Revision int64
	// Err is set on the last response before the channel closes. ErrCompacted
	// (with CompactRevision set) means: relist, then watch from list revision+1.
	Err             error
	CompactRevision int64
}

// PutOption modifies a Put/Create/Update.
type PutOption func(*PutOptions)

// PutOptions is the resolved set of PutOption.
type PutOptions struct {
	Lease LeaseID
}

// WithLease attaches the row to a lease: it is deleted when the lease expires
// or is revoked. If the lease is gone, the write fails with ErrLeaseExpired.
// As in etcd, a later write of the row without WithLease detaches it from
// the lease.
func WithLease(id LeaseID) PutOption { return func(o *PutOptions) { o.Lease = id } }

// ApplyPutOptions resolves options; for drivers.
func ApplyPutOptions(opts []PutOption) PutOptions {
	var o PutOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Driver is an NB database connection. All methods are safe for concurrent use.
type Driver interface {
	// Get returns the row, or an error wrapping ErrNotFound.
	Get(ctx context.Context, table, key string) (KV, error)
	// List returns every row of table (topic == "": all rows; otherwise only
	// rows whose JSON "topic" field equals topic), sorted by key, and the
	// store revision the list was read at.
	List(ctx context.Context, table, topic string) ([]KV, int64, error)
	// Tables returns the names of tables that hold at least one row, sorted.
	Tables(ctx context.Context) ([]string, error)

	// Create writes a new row; ErrExists if the key is taken. Returns the new ModRevision.
	Create(ctx context.Context, table, key string, value []byte, opts ...PutOption) (int64, error)
	// Update overwrites an existing row. expectRev > 0: only if the row's
	// ModRevision equals it (else ErrVersionConflict); expectRev == 0: any
	// existing row. ErrNotFound if absent. Returns the new ModRevision.
	Update(ctx context.Context, table, key string, value []byte, expectRev int64, opts ...PutOption) (int64, error)
	// Put creates or overwrites unconditionally. Returns the new ModRevision.
	Put(ctx context.Context, table, key string, value []byte, opts ...PutOption) (int64, error)
	// Delete removes a row. expectRev as for Update. ErrNotFound if absent.
	Delete(ctx context.Context, table, key string, expectRev int64) error

	// Grant creates a lease of the given TTL (rounded up to whole seconds,
	// at least 1 s).
	Grant(ctx context.Context, ttl time.Duration) (LeaseID, error)
	// KeepAlive refreshes the lease once to its full TTL; ErrLeaseExpired if
	// it is already gone.
	KeepAlive(ctx context.Context, id LeaseID) error
	// Revoke ends the lease now and deletes its rows; ErrLeaseExpired if it is gone.
	// Expiry and Revoke delete all of a lease's rows at one revision.
	Revoke(ctx context.Context, id LeaseID) error

	// Watch streams changes of table starting at revision fromRev (0: from
	// now, i.e. every change committed after Watch returns is delivered; a
	// driver must fix the start revision before returning). Events arrive
	// in revision order, grouped in responses. The channel is closed when
	// ctx is canceled (no error sent), when the driver is closed (last
	// response Err wraps ErrClosed), or after a terminal error such as
	// ErrCompacted (last response carries it). Callers must cancel ctx when
	// they stop reading. Drivers never drop events silently: a watcher that
	// cannot keep up is ended with an error instead.
	Watch(ctx context.Context, table string, fromRev int64) <-chan WatchResponse

	// Compact discards history before rev; later watches from an older
	// revision fail with ErrCompacted (watching from rev itself still
	// works). As in etcd, rev above the current revision is an error, and
	// so is rev at or below an earlier compaction (wrapping ErrCompacted).
	Compact(ctx context.Context, rev int64) error
	// Revision returns the current store revision.
	Revision(ctx context.Context) (int64, error)

	// Close releases the connection; idempotent; waits for the driver's goroutines.
	Close() error
}
