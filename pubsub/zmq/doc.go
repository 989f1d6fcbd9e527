// Package zmq is the default pub/sub driver ("zmq"): the ZeroMQ wire that
// Dragonflow's peers speak (ZMTP 3.x, NULL mechanism; see package zmtp), in
// pure Go, with what libzmq does not give: bounded per-subscriber queues
// that never slow the publisher, sequence numbers, heartbeats and gap
// reports.
//
// Sockets:
//   - PUB (Publisher, NewPublisher): binds tcp:// or ipc://, one bounded
//     send queue and one writer per subscriber, prefix filtering on the
//     publisher side;
//   - SUB (Subscriber, NewSubscriber): connects to many publishers at once,
//     each reconnected independently;
//   - PUSH (Pusher, NewPublisher with Multiproc): connects to the publisher
//     service's PULL; Publish waits for room at most PublishTimeout;
//   - PULL (Pull, Driver.NewPull): binds, receives from many PUSH peers.
//
// A Dragonflow message is two frames, [topic, msgpack body] (model's
// codec). Topics match by prefix. README.md describes the delivery
// guarantees, each gap reason, the options and the interop notes; every
// file starts with the contract of what it holds.
package zmq
