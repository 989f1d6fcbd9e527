// Package redis is the "redis" nb.Driver: the NB database on a standalone
// Redis server (7.0 or later) through github.com/redis/go-redis/v9, with
// Dragonflow's row layout. Importing it registers the driver with
// nb.Register; the pub/sub driver of the same name is pubsub/redis, in the
// other registry.
//
// # Layout
//
// A row is the Redis string "{table.topic}key" holding the object's JSON,
// as Dragonflow's redis_db_driver stores it: topic is the top-level "topic"
// string of the value, "" for a row without one ("{publisher.}<uuid>",
// "{lport.<tenant>}<port-id>"), so Python Dragonflow can read the rows this
// driver writes. Everything else is under a prefix ("df:" by default):
//
//	df:rev            revision counter (the store revision is counter + 1)
//	df:t:<table>      hash key -> "<create>:<mod>:<lease>:<topic>" (row index)
//	df:tables         set of tables with rows
//	df:log            change log, a Redis Stream; entry id <revision>-<n>
//	df:floor          first revision whose history the log holds
//	df:leases         sorted set lease -> deadline (ms, Redis server clock)
//	df:lease:ttl      hash lease -> TTL (ms)
//	df:lease:<id>:rows set of "table/key" attached to the lease
//	df:lease:id       lease id counter
//
// Get cannot know a row's topic, so the row index maps each key to its
// metadata (and topic); List reads the index and the rows in one script.
//
// # Revisions and compare-and-swap
//
// Every write is one Lua script: it checks (existence, expected
// ModRevision, lease alive), INCRs the revision counter, appends the change
// to the log, and writes the row and its index entry. Redis runs a script
// atomically, so a row's ModRevision is exactly the revision of its last
// write, CAS (Update/Delete with expectRev) is a compare inside the
// script, and List returns the revision it read at. A row whose topic
// changes moves to its new key in the same script.
//
// # Leases
//
// A lease is a member of df:leases whose score is its deadline on the
// Redis server's clock (TIME inside the scripts): no two hosts' clocks are
// ever compared. KeepAlive moves the deadline to now + TTL. Rows written
// WithLease join the lease's row set; a write without it detaches the row
// (etcd's rule). Expired leases are dropped by a reaper every live driver
// runs (every ReapInterval, 500 ms by default): one script per lease
// deletes all its rows at one revision and logs a delete event for each,
// so watchers — discovery among them — see a dead publisher's row go
// within the TTL plus the reap interval. A lease found expired by
// KeepAlive, Revoke or a write is dropped there and then, and reported
// gone (nb.ErrLeaseExpired). The design needs no keyspace notifications
// (fire-and-forget, lost while no client listens) and no per-row PEXPIRE
// kept in step with its lease (Redis would delete the row without
// telling anyone).
//
// # Watch: a capped change stream
//
// Each write appends one entry per changed row to the df:log Stream with
// the explicit id <revision>-<n>, in the same script, and trims the log to
// about Options.History entries (XTRIM MAXLEN ~); Compact(rev) trims it
// exactly (XTRIM MINID) and records the floor. Watch(table, fromRev) reads
// the log with XREAD BLOCK from revision fromRev on and keeps the table's
// entries; below the floor it fails with nb.ErrCompacted. Because every
// revision has at least one entry, a watcher checks that the ids it reads
// are consecutive: a hole (the log was trimmed under a watcher that fell
// behind) ends the watch with nb.ErrCompacted instead of skipping events.
// Chosen over polling the rows: a stream gives exact revision order, every
// intermediate value, delete events with the last value, replay from a
// revision, and a precise "compacted" signal, at the price of one stream
// entry per write (bounded by History) and one blocked connection per
// watch. One log for all tables keeps the continuity check exact; each
// watcher skips the other tables' entries.
//
// # Limits
//
//   - Standalone Redis only. The scripts touch the counter, the log and
//     rows of many hash slots at once, which Redis Cluster refuses; New
//     fails on a cluster node. (Dragonflow's "{table.topic}" hash tags only
//     spread rows over a cluster; they give no cross-slot atomicity.)
//   - The NB DB is the state of the fabric: run Redis with persistence
//     (appendonly yes) in production. A server that restarts empty resets
//     the revision; watchers detect it (the revision went back) and end
//     with nb.ErrCompacted, and everyone relists.
//   - Rows must be written through this driver: a "{table.topic}key"
//     written by another program without the index entry is invisible.
//   - Table names must not contain '/', '.', '{' or '}'.
package redis
