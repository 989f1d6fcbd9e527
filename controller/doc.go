// Package controller is the local controller of a compute host, role
// local-controller (design §2; reference §1.11–§1.14).
//
// New builds the process's one nbapi.NbApi with that role — which binds
// and registers the controller's own publisher on [controller]
// publisher_port — registers the host's chassis (published, no
// skip_send_event workaround), starts the subscriber on topic "D" and
// connects it through discovery to the publishers of [controller]
// subscribe_roles, its own excluded.
//
// # Cache and sync
//
// The controller keeps a versioned cache of the NB objects of its
// subscribed topics. Create, set and delete events are applied; a
// versioned object (model.Versioned) replaces the cached one only with a
// greater version, an unversioned one always does; update events (port
// status), log events, control actions from the wire (never obeyed) and
// unknown tables are ignored and counted. Every event and its Outcome goes
// to Config.OnEvent, so tests can check that nothing is applied twice and
// each publisher's order is kept.
//
// A resync of a topic lists the topic's rows of every model table and
// replaces the cache's view of that topic: newer objects added or
// updated, cached objects missing from the NB DB deleted. It runs at
// start (all topics, before New returns: Ready), on every gap the
// subscriber reports (the gap's topic, or every topic when it names none),
// on every publisher service df_resync marker (pubservice.ParseResync), on
// a newly connected publisher and on a stream whose first event has seq >
// 1 (both: events sent before the connection existed), when selective
// topology subscribes a tenant, and every [df] db_sync_time (jittered).
// Requests coalesce: a topic is queued at most once, so a burst of gaps
// while its resync runs costs one more resync. With Config.ResyncJitter
// the resyncs every subscriber of a publisher asks for at once (gaps, a
// new or restarted publisher, first contact, df_resync markers) wait a
// random delay in [0, jitter] first; Config.SyncLimit caps the resyncs
// running at once across the controllers sharing it. Resyncs run one at a time
// on the controller's goroutine; a failed one is retried with backoff.
//
// Events keep being applied while a resync lists. Every cache write has a
// generation; a resync never overwrites or deletes what an event wrote
// after it began (a versioned object is still replaced by a greater
// listed version), and never resurrects what an event deleted after it
// began (deletes leave tombstones, kept for Config.TombstoneTTL and while a
// resync that may need them runs). A late set of a versioned object not
// newer than a recent delete is dropped too.
//
// # Selective topology
//
// With [df] enable_selective_topology_distribution, objects are cached
// under their "topic" field (the tenant) and topicless ones under "D". The
// first local port of a tenant subscribes the tenant's topic once and
// syncs it; the last one going unsubscribes it and drops its objects.
//
// # Ports and active ports
//
// A portsource.Source reports local ports up or down. The controller
// writes model.PortStatus (version previous+1) with nb.Driver.Put — state,
// not published (design §4.5 rule 5) — and publishes Dragonflow's
// DbUpdate{lport, id, update, "ACTIVE"|"DOWN"} on
// model.ListenerTopic(host) of one live listener, chosen round robin among
// the rows of the lease-based listener table read at that moment. An
// activeport.Detector reports active ports, written and published through
// the NbApi.
//
// # Goroutines
//
// The controller owns one goroutine (resyncs, periodic sync, retries),
// started by New and stopped by Close, which waits for it: Done is closed
// when it has stopped, Err says why it stopped on its own (the subscriber,
// the discovery or the admin endpoint stopped, or the NB DB driver was
// closed). The subscriber, discovery, publisher registration and admin
// endpoint own theirs and are closed by Close. Loggers are injected.
package controller
