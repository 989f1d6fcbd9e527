// Package pubsub defines the publisher and subscriber contracts of the
// fabric, the driver registry, and the sequencing and gap detection every
// driver shares.
//
// Delivery model. Every event a v2 publisher sends carries (publisher id,
// epoch, seq) in the body's extension keys (model.Meta). seq counts per
// (publisher, epoch, topic) from 1, so a subscriber that receives only some
// topics never sees a false gap. A subscriber reports every loss it can
// detect through SubscriberConfig.OnGap — a missing seq, an epoch change
// (publisher restarted), a reconnect, an overflow of its own queue — and
// never drops an event silently. A Gap names the publisher and, when known,
// the topic, so the consumer can repair it with a targeted resync.
//
// Topic semantics are per driver and documented in each driver's README
// (ZeroMQ: prefix match; brokers: exact match).
package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
)

// Errors. Compare with errors.Is.
var (
	// ErrClosed: the publisher or subscriber was closed.
	ErrClosed = errors.New("pubsub: closed")
	// ErrPublishTimeout: Publish could not hand the event over within its bound.
	ErrPublishTimeout = errors.New("pubsub: publish timed out")
	// ErrUnknownPublisher: UnregisterPublisher of an id never registered.
	ErrUnknownPublisher = errors.New("pubsub: unknown publisher")
)

// DefaultPublishTimeout bounds Publish when PublisherConfig.PublishTimeout is 0.
const DefaultPublishTimeout = 2 * time.Second

// Endpoint is one publisher as a subscriber connects to it: the row a
// publisher registers in the NB DB publisher table, reduced to what a
// connection needs.
type Endpoint struct {
	PublisherID string
	URI         string
	Role        string
}

// Event is one delivered update with the identity of its sender. Meta is zero
// when the sender was a Dragonflow (v1) peer that sends no extension keys.
type Event struct {
	Update model.DbUpdate
	Meta   model.Meta
	// Endpoint is the URI the event arrived from ("" for broker drivers).
	Endpoint string
	// Authenticated is true when the transport proved the sender's end of
	// the connection holds the key the subscriber trusts (zmq with CURVE).
	// Control actions are obeyed only from authenticated events.
	Authenticated bool
}

// GapReason says why a subscriber knows it may have missed events.
type GapReason string

// Gap reasons.
const (
	// GapSeq: a sequence number was skipped on (publisher, topic).
	GapSeq GapReason = "seq"
	// GapEpoch: the publisher restarted (new epoch); anything it sent in
	// between may be missing, on every topic.
	GapEpoch GapReason = "epoch"
	// GapReconnect: the connection to the publisher (or broker) was lost and
	// re-established; events in between may be missing.
	GapReconnect GapReason = "reconnect"
	// GapOverflow: the subscriber's own queue was full and events were dropped.
	GapOverflow GapReason = "overflow"
	// GapHeartbeat: a heartbeat showed a newer seq than the last delivered one
	// (tail loss).
	GapHeartbeat GapReason = "heartbeat"
	// GapMalformed: a message from the publisher could not be read as an
	// event (wrong number of frames, a body that does not decode) and was
	// dropped; Topic is the message's frame topic when known.
	GapMalformed GapReason = "malformed"
)

// Gap reports a detected loss. Topic "" means every topic of the publisher;
// PublisherID "" means every publisher (e.g. a broker connection loss).
type Gap struct {
	Reason      GapReason
	PublisherID string
	Topic       string
	// Expected and Got are the seq numbers around a GapSeq/GapHeartbeat.
	Expected, Got uint64
	// Lost is the number of events known to be missing; 0 when unknown.
	Lost uint64
	// Err is the cause, when there is one (e.g. the connection error).
	Err error
}

func (g Gap) String() string {
	s := fmt.Sprintf("gap(%s publisher=%q topic=%q", g.Reason, g.PublisherID, g.Topic)
	if g.Expected != 0 || g.Got != 0 {
		s += fmt.Sprintf(" expected=%d got=%d", g.Expected, g.Got)
	}
	if g.Lost != 0 {
		s += fmt.Sprintf(" lost=%d", g.Lost)
	}
	if g.Err != nil {
		s += " err=" + g.Err.Error()
	}
	return s + ")"
}

// Publisher sends DbUpdates. Safe for concurrent use.
type Publisher interface {
	// Publish sends u on u.TopicOrDefault(). It never blocks longer than the
	// publisher's bound (PublisherConfig.PublishTimeout) or ctx, whichever is
	// shorter; on timeout it returns an error wrapping ErrPublishTimeout and
	// the event counts as lost (the seq it consumed makes subscribers see the
	// gap). After Close it returns ErrClosed.
	Publish(ctx context.Context, u model.DbUpdate) error
	// Info tells who this publisher is and where subscribers reach it.
	Info() Info
	// Close stops the publisher, releases its sockets and waits for its
	// goroutines. Idempotent.
	Close() error
}

// Info identifies a running publisher.
type Info struct {
	ID    string
	Epoch uint64
	// URI is where subscribers connect (bound port resolved), or "" for
	// broker drivers.
	URI string
}

// Subscriber receives events of registered topics from registered
// publishers. Registration methods are safe to call while it runs.
type Subscriber interface {
	// RegisterTopic starts delivery of topic. Idempotent.
	RegisterTopic(topic string) error
	// UnregisterTopic stops delivery of topic; events of it already queued
	// may still be delivered. Unregistering an unknown topic is a no-op.
	UnregisterTopic(topic string) error
	// RegisterPublisher connects to ep. Endpoints are de-duplicated by
	// PublisherID: registering the same id again under another URI replaces
	// the connection, so one publisher never delivers twice.
	RegisterPublisher(ep Endpoint) error
	// UnregisterPublisher disconnects the publisher with that id; an unknown
	// id gives an error wrapping ErrUnknownPublisher.
	UnregisterPublisher(publisherID string) error
	// Topics returns the registered topics, sorted.
	Topics() []string
	// Done is closed when the subscriber has stopped: after Close, or on a
	// fatal error (then Err says why).
	Done() <-chan struct{}
	// Err is nil while running and after a clean Close.
	Err() error
	// Close stops delivery and waits for the subscriber's goroutines; no
	// callback runs after it returns. Idempotent.
	Close() error
}

// PublisherConfig is what a driver needs to build a publisher.
type PublisherConfig struct {
	// ID is the publisher id written into every event and the publisher table.
	ID string
	// Epoch changes on every start of the process (see NewEpoch).
	Epoch uint64
	// Role is the role this publisher registers with.
	Role string
	// ListenURI is where a connection-oriented driver binds, e.g.
	// "tcp://*:8866" or "ipc:///run/df/pub.sock". Unused by broker drivers.
	ListenURI string
	// Multiproc: ListenURI is the local publisher service's IPC socket; the
	// driver connects and pushes to it (PUSH) instead of binding a publisher.
	Multiproc bool
	// AdvertiseHost replaces a wildcard bind host in Info().URI.
	AdvertiseHost string
	// WireMode chooses whether the v2 extension keys are sent.
	WireMode model.WireMode
	// PublishTimeout bounds Publish; 0 means DefaultPublishTimeout.
	PublishTimeout time.Duration
	// Hosts are broker addresses for broker drivers ([df] remote_db_hosts).
	Hosts  []string
	Logger *slog.Logger
	// Registrar, when set, registers the publisher in the NB DB publisher
	// table once it is bound; see Open. Multiproc publishers never register.
	Registrar Registrar
}

// SubscriberConfig is what a driver needs to build a subscriber.
type SubscriberConfig struct {
	// OnEvent receives events, one at a time, in arrival order per publisher.
	// It runs on the subscriber's delivery goroutine: a slow OnEvent fills the
	// subscriber's queue and leads to GapOverflow, never to a blocked publisher.
	OnEvent func(Event)
	// OnGap receives every detected loss, on the same goroutine as OnEvent and
	// in order with the events (a gap is reported before the event that
	// revealed it). nil means gaps are only logged — set it in real code.
	OnGap func(Gap)
	// Topics registered at start.
	Topics []string
	// QueueSize bounds the delivery queue; 0 means DefaultQueueSize.
	QueueSize int
	// Hosts are broker addresses for broker drivers.
	Hosts  []string
	Logger *slog.Logger
	// Borrow lends events to OnEvent instead of giving them away, for a
	// receiver that does not keep them: the driver may then reuse their
	// memory and deliver without garbage per event. With Borrow, every
	// byte slice in an Event (Update.Value) is valid only until the
	// OnEvent call that received it returns: after that the driver
	// writes other events' bytes into it. A receiver that keeps a Value,
	// or a slice of it, past its OnEvent — stored, or handed to another
	// goroutine — must copy it first (bytes.Clone); so must one that
	// hands the Event itself on. Decoding the Value (e.g. json.Unmarshal)
	// before OnEvent returns is fine. Strings in the Event (table, key,
	// action, topic, publisher id, endpoint) stay valid for ever: they
	// never alias reused memory. Gaps are unaffected.
	//
	// Borrow is a permission, not a request: a driver that does not
	// support it ignores it and delivers owned events, which is always
	// correct. Drivers that support it: zmq.
	Borrow bool
}

// DefaultQueueSize is the subscriber delivery queue bound when unset.
const DefaultQueueSize = 4096

// Driver builds publishers and subscribers of one transport.
type Driver interface {
	NewPublisher(ctx context.Context, cfg PublisherConfig) (Publisher, error)
	NewSubscriber(ctx context.Context, cfg SubscriberConfig) (Subscriber, error)
}

// SubscriberCounter is implemented by connection-oriented publishers that
// know how many subscriber connections are established (dfctl pub
// --wait-subscribers). Broker drivers do not implement it.
type SubscriberCounter interface {
	Subscribers() int
}
