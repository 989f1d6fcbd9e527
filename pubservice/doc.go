// Package pubservice is df-publisher-service: the one network publisher of
// the neutron-server role on a host (design §2, reference §1.7).
//
// # What it does
//
//   - It binds a ZeroMQ PULL socket on ipc://[neutron] publisher_multiproc_socket
//     (creating the parent directory, mode 0755, when it is missing) where
//     neutron-server workers with pub_sub_use_multiproc = True PUSH their
//     events, and re-publishes each one on its PUB socket, bound on
//     tcp://[neutron] publisher_binding_address:publisher_port, with topic =
//     the body's topic, or "D" when it has none (Dragonflow ignores the IPC
//     frame topic; so does the service). The outgoing event carries the
//     service's own publisher id, epoch and per-topic seq: subscribers track
//     one publisher, the service, whatever worker the event came from.
//   - It registers that PUB in the NB DB publisher table with role
//     neutron-server (discovery.Register, lease TTL [df] publisher_timeout),
//     so subscribers of that role find it; Close revokes the lease, so they
//     drop it at once, and a killed service's row expires within the TTL.
//   - It relays the NB DB changes of the tables chassis, publisher and
//     activeport (Config.Tables) by watching them — not by polling every row
//     every 30 s as Dragonflow's TableMonitor did (reference §5.2 item 17):
//     a change is published within the watch latency as a DbUpdate create,
//     set (value: the row's JSON) or delete (value nil) on topic "D" (or the
//     row's topic with Config.Selective). So controller-written rows reach the
//     other controllers through the service, and controllers never subscribe
//     to each other: connections stay O(N·K). A rewrite that does not change
//     a row's value is not relayed; the registrations' timestamp rewrites
//     change it and are relayed (one event per publisher per minute).
//     Every running service relays the same changes (each subscriber of K
//     services gets K copies of a whole-row event: harmless for these
//     unversioned, last-write-wins tables).
//     The relay starts from a List and watches from the listed revision; a
//     compacted or broken watch is replaced by a new List, diffed against
//     what the relay had seen, so the changes the watch missed are published
//     too. Rows that existed before the service started are not announced
//     (Dragonflow's "create" for every row on every restart): subscribers
//     sync when they connect to a new publisher.
//
// # No silent loss on the worker → service hop
//
// A worker's PUSH stamps every event with its own (publisher id, epoch,
// per-topic seq), like any v2 publisher, and consumes the seq of an event it
// could not hand over (queue full while no service listens: Publish times
// out and counts it; a batch lost with a broken connection is counted too).
// The service's PULL runs the shared pubsub.Tracker per origin worker, so
// the loss shows at the service as a gap of that origin: GapSeq (the next
// event skips seqs), GapHeartbeat (the worker's sequence heartbeat shows
// seqs that never arrived: loss at the tail, with no event after it),
// GapEpoch (the worker restarted under the same id), GapOverflow (the
// service's own PULL queue overflowed) or GapMalformed.
//
// The service adds one rule the Tracker cannot apply: first contact. The
// first event of an origin (id, epoch) on a topic sets the Tracker's
// baseline silently, which is right for a subscriber that just subscribed
// but not for the service: a worker that reconnects to a restarted service
// carries on with its seqs, and events lost when the previous service
// stopped (read but not yet relayed, or lost in the broken connection) sit
// just before that baseline. So a first event with seq > 1 counts as a gap
// (reason FirstContact, Expected 1, Got seq) of that topic: the service
// cannot prove that the earlier seqs were relayed by anyone. Its cost is
// one targeted resync per (worker, topic) after a service restart.
//
// The service makes its own subscribers see every such gap by publishing,
// on the affected topic, a resync marker: a data event of table
// ResyncTable ("df_resync"), action "set", key = the topic (AllTopics, "*",
// on topic "D" when the origin's topics are unknown, e.g. a GapEpoch of an
// origin never seen), value = a ResyncRequest JSON naming the origin, the
// reason and the seqs. It is data, not the control action "sync": control
// actions are only obeyed from authenticated publishers of the right role
// (reference §5.2 item 11), and a marker asks for a targeted resync of one
// topic, not a full one. Consumers decode it with ParseResync and resync
// that topic exactly as they do for a gap of the service itself; a marker
// is in order with the events: it is published before the event that
// revealed the gap. A gap whose topic is "" (every topic of the origin)
// gives one marker per topic the service has seen from that origin, or one
// AllTopics marker when it has seen none (or more than maxOriginTopics).
//
// What remains undetectable here, and is covered by the subscribers'
// periodic sync ([df] db_sync_time): events a worker had stamped but not
// sent when it died (its next incarnation has a new id). A restarted
// service's PULL applies the first-contact rule to heartbeats too
// (pubsub.Tracker.HeartbeatFirstContact): the first sequence heartbeat of a
// worker is a GapHeartbeat for every topic it has sent on, so tail loss and
// events the old service read but never relayed are reported even when no
// event of that topic follows.
// Subscribers must sync (the affected topics) when they connect to a new
// publisher, as the Tracker's baseline rule already says: a service restart
// is a new publisher, and anything published before a subscriber's
// connection was established did not reach it (ZeroMQ's slow joiner).
//
// # Life
//
// New binds, registers, lists the relayed tables and starts; every
// goroutine it starts is owned by the Service: the PULL's, the PUB's, the
// registration's, one per relayed table and one supervisor. Close stops
// them in order — PULL (no more input), table relays, registration
// (revoke), PUB — waits for them, and removes the ipc socket file; it is
// idempotent. Done is closed when the service has stopped: after Close, or
// on its own when the NB DB driver was closed (Err says why).
package pubservice
