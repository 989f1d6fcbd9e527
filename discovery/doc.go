// Package discovery registers publishers in the NB DB publisher table and
// connects subscribers to the publishers of the roles they want (design
// §4.3).
//
// # Registration
//
// Register writes publisher/<id> — model.Publisher's JSON: id, role, uri,
// host, pid, epoch, last_activity_timestamp — on an NB DB lease of TTL
// [df] publisher_timeout, and one goroutine refreshes the lease every TTL/3.
// Liveness is the lease alone: the row of a process that dies without
// Close disappears within the TTL, deleted by the NB DB itself, and nobody
// compares wall clocks across hosts. Dragonflow instead compared
// last_activity_timestamp with its own clock and refreshed it so late that
// a live publisher looked stale for a few milliseconds every cycle
// (reference §5.2 item 4). A lease found gone (NB DB restart, a pause past
// the TTL) is replaced: the row is written again on a new lease and the
// WithOnLost/WithOnReregistered hooks say so. Close revokes the lease, so
// the row and the subscribers' connections go at once.
//
// last_activity_timestamp is still written, and rewritten every
// WithTimestampRefresh period (60 s by default), only for Python Dragonflow
// peers, which treat an old row as stale and may delete it. Each rewrite is
// one watch event for every process that watches the table, so a Go-only
// deployment should turn it off (WithTimestampRefresh(0)).
//
// # Ids and epochs
//
// NewID never gives two processes the same id, even on one host, unlike
// Dragonflow's uuid5("MainProcess.<fqdn>") (reference §5.2 item 16): it is
// a UUIDv5 over role, host, pid and a random value drawn once per process.
// It is not stable across restarts: a restarted process is a new publisher
// with a new epoch (NewEpoch), and its previous row expires with its lease.
//
// # Advertised uri
//
// A registered uri never has a wildcard host ("*", "0.0.0.0", "::"):
// Register refuses one (ErrWildcardURI) and says to set
// publisher_binding_address or [df] management_ip. AdvertiseURI builds the
// uri from config.RoleSettings.AdvertiseHost; a bound pubsub.Publisher's
// Info().URI is already resolved the same way.
//
// # Discovery
//
// Discover lists the table, connects a Target (a pubsub.Subscriber) to the
// rows of the wanted roles, then watches the table from the listed
// revision: new rows are registered, deleted ones (explicitly or by lease
// expiry) unregistered by the id in their key, since delete events carry
// no uri (Dragonflow's delete path broke on exactly that, reference §5.2
// item 2). It relists on compaction or a broken watch and registers and
// unregisters the difference. Rows are de-duplicated by id — the target
// replaces the connection of an id registered again — and by uri, so that
// one publisher reachable under two rows never delivers twice (reference
// §1.9). Rows without a role, the shape Python Dragonflow writes, count as
// neutron-server: its publisher service was the only process that
// registered.
//
// # Goroutines and errors
//
// A Registration and a Discovery each own one goroutine, in the style of
// etcd's concurrency.Session: Done is closed when it has stopped, Err says
// why, Close stops it and waits and is idempotent. The ctx given to
// Register or Discover bounds that goroutine's life. Transient NB DB
// errors and target errors are logged and retried with jittered backoff,
// never fatal; only a closed driver (nb.ErrClosed) stops a goroutine on
// its own. Loggers are injected with WithLogger, and time with WithClock,
// so tests drive leases and retries with a clock.Fake.
package discovery
