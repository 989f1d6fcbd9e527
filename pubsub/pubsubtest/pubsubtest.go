// Package pubsubtest is the conformance suite every pubsub.Driver must pass:
// pubsubtest.Run(t, factory) from the driver's own tests (one suite, many
// backends, as etcd's tests/common). A connection driver's test:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
//
//	func TestConformance(t *testing.T) {
//		pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
//			return pubsubtest.Harness{
//				Driver: zmq.NewDriver(),
//				PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
//					return pubsub.PublisherConfig{ListenURI: "tcp://127.0.0.1:0"}
//				},
//				PrefixTopics: true,
//				AliasURI: func(uri string) string {
//					return strings.Replace(uri, "//127.0.0.1:", "//localhost:", 1)
//				},
//			}
//		})
//	}
//
// A broker driver's harness returns Hosts from PublisherConfig, sets
// SubscriberHosts and leaves PrefixTopics false.
//
// # How the suite waits
//
// Subscription propagation may be asynchronous (ZeroMQ's slow joiner), so
// the suite never sleeps to let a path settle. It establishes a path with a
// barrier: it publishes probe events (table ProbeTable) on a topic, waiting
// a growing interval (10 ms, doubling to 200 ms, 10 s in all) for each one
// before it sends the next, until the probe it has just sent arrives.
// Ordering per publisher then means every event the publisher sent on that
// topic before the probe has been delivered or reported lost, and the next
// event it sends carries the probe's seq + 1. Probes consume seqs; the suite
// accounts for them, and tolerates lost probes and gaps before a barrier
// (that is how a path comes up). Cases end with a barrier and then Close the
// subscriber, so "exactly N" also means "nothing else arrived", and an
// event that must not arrive would have arrived before the barrier. The one
// wait for something not to happen is the 100 ms in which Close must still
// be blocked by a running OnEvent.
//
// # What a driver must do to pass
//
// Each suite_*.go file documents its cases: exact counts with intact bodies
// and Meta; topic filtering (prefix or exact, per Harness.PrefixTopics);
// topics and publishers registered and unregistered at run time; two
// publishers to one subscriber; ordering per publisher across topics; gap
// reporting without silent loss (overflow of SubscriberConfig.QueueSize,
// publisher restart with a new epoch, no false gap on a subset of topics);
// de-duplication by publisher id; Close. Beyond the doc comments of package
// pubsub, that means:
//
//   - an event published after UnregisterTopic or UnregisterPublisher has
//     returned is not delivered (a driver whose unsubscription propagates
//     asynchronously filters on the subscriber side too);
//   - broker drivers also scope delivery to registered publishers ("events
//     of registered topics from registered publishers"), filtering on
//     Event.Meta.PublisherID; RegisterPublisher connects nothing;
//   - Event.Endpoint is the URI the publisher's id was last registered with
//     ("" for broker drivers);
//   - Info().URI is resolved (no port 0), is accepted as a ListenURI, and
//     is free again when Close returns: the suite restarts a publisher on it;
//   - a subscriber reaches a publisher restarted at a registered URI by
//     itself, and reports GapEpoch or GapReconnect before its first event;
//   - a slow subscriber never makes Publish wait until its PublishTimeout;
//   - every goroutine a case started is gone after the case's cleanups: the
//     suite checks with goleak.VerifyNone after each case (so Run must not
//     run in parallel with other tests of the package;
//     Harness.LeakOptions can exempt a library's own goroutines).
//
// With the memory driver the suite takes about 0.15 s.
package pubsubtest

import (
	"log/slog"
	"testing"

	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Harness is one driver set up for one case.
type Harness struct {
	// Driver builds the case's publishers and subscribers. Required.
	Driver pubsub.Driver
	// PublisherConfig returns the transport part of the config of a new
	// publisher: a fresh ListenURI (and AdvertiseHost, if it binds a
	// wildcard) for connection drivers, Hosts for broker drivers. The suite
	// sets ID, Epoch, WireMode (v2) and, when unset, Role and Logger. nil
	// means a zero config.
	//
	// The suite restarts a publisher (same ID, next Epoch) with the old
	// config and, when its ListenURI was set, ListenURI = the old
	// Info().URI: a connection driver must accept its resolved URI as a
	// ListenURI and must have released it when Close returned.
	PublisherConfig func(t *testing.T, id string) pubsub.PublisherConfig
	// SubscriberHosts is SubscriberConfig.Hosts (broker drivers).
	SubscriberHosts []string
	// PrefixTopics says a registered topic matches every topic it is a
	// prefix of (ZeroMQ, memory); false: exact match (brokers).
	PrefixTopics bool
	// AliasURI returns a second URI at which the publisher advertised at uri
	// is reachable (e.g. tcp://127.0.0.1:P → tcp://localhost:P, or
	// 127.0.0.2 when the publisher binds a wildcard), for the de-duplication
	// case; nil, or "" returned, registers the same URI twice instead.
	AliasURI func(uri string) string
	// LeakOptions are added to the per-case goroutine leak check, for
	// goroutines a client library keeps by design beyond Close.
	LeakOptions []goleak.Option
	// Logger is given to publishers and subscribers; nil discards.
	Logger *slog.Logger
}

// Factory returns a fresh harness for one case and registers its own
// teardown with t.Cleanup (it runs after the case has closed everything it
// built, and before the leak check).
type Factory func(t *testing.T) Harness

// Run runs every case, sequentially, each on a fresh harness, as subtests
// named after the cases (go test -run 'TestX/ExactCount').
func Run(t *testing.T, f Factory) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			var h Harness
			t.Cleanup(func() { goleak.VerifyNone(t, append([]goleak.Option{ignore}, h.LeakOptions...)...) })
			h = f(t)
			c.fn(newEnv(t, h))
		})
	}
}

type testCase struct {
	name string
	fn   func(e *env)
}

// cases is appended to by the suite_*.go files' init functions, in file
// name order.
var cases []testCase

func register(name string, fn func(e *env)) {
	cases = append(cases, testCase{name, fn})
}
