// Package bench is the pub/sub benchmark harness behind `dfctl bench`: it runs
// a raw-TCP Go fan-out reference and one or more pub/sub drivers in one
// process and one run, and reports every figure as a ratio to the reference
// measured in the same pass (the machine is noisy; ratios are stable, absolute
// numbers are not).
//
// The method reproduces /work/shared/reference/baselines.md §2:
//
//   - Event: 300 bytes. The reference sends a 17-byte header (seq, publish
//     time in UnixNano, kind) followed by a 283-byte msgpack DbUpdate blob,
//     copied into a fresh buffer on every publish. A driver publishes a
//     DbUpdate on table lport whose v2 body (the five Dragonflow keys plus
//     pub_id, epoch, seq, pub_ts) is about 300 bytes, so both carry the same
//     information in the same number of bytes.
//   - Latency is receive time minus a timestamp taken just before Publish, in
//     the same process. The reference carries it in its header; for a driver
//     the harness keeps it in a ring indexed by the event's Meta.Seq (see
//     Driver), so time spent inside Publish counts for both. Only when the
//     ring cannot be used (the RSS child, a seq outside the ring) does it fall
//     back to Meta.PublishTime, stamped by the driver's sequencer.
//   - Readiness: warm-up events every 5 ms until every subscriber has one,
//     then 300 ms of settling. After the window the harness waits for
//     stragglers (up to Options.Drain). Loss = sent × subscribers − received;
//     losses a transport reported as gaps are counted separately, so silent
//     drops stand out.
//   - Scenarios (Scenarios lists them): a-tput, a-lat, b-tput, b-lat, c-rss
//     (subscribers in a child process, VmRSS per extra subscriber) and
//     d-stuck (a subscriber that never reads next to a healthy one).
//   - Order: scenario-major within a pass, the reference first. Each ratio is
//     computed within its pass; a Report shows the median of the per-pass
//     ratios.
//
// A transport plugs in through the Transport interface (transport.go): the
// reference (RawTCP), every registered pubsub.Driver (Driver) and the plain
// nats.go peer (NATSGo) implement it.
//
// Brokers (broker.go). A broker transport — the etcd, redis and nats
// drivers, and nats.go — starts its own broker on loopback before its first
// measurement: an embedded etcd in this process (nb/etcd/embedded, data dir
// in a temporary directory), or a redis-server or nats-server process (the
// Debian binaries; a separate process, as in a deployment, so its CPU and
// garbage stay out of the harness's runtime). The broker serves the
// transport for the whole run and its address travels in Publisher.Addr, so
// the RSS child reaches it too; CloseTransports stops it after Run (the
// process is reaped; a process broker also dies with the bench through
// Pdeathsig). Publisher and subscribers are connected through the broker
// only. A broker may lose events under overload: the loss, and what the
// subscribers were told about as gaps, are reported as for any driver.
// A transport to which a scenario cannot apply says so (NotApplicable) and
// the report shows "n/a" with the reason instead of a figure.
package bench
