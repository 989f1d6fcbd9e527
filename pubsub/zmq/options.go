package zmq

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// Defaults of the driver's options.
const (
	DefaultSendQueue         = 8192
	DefaultSendWait          = 100 * time.Millisecond
	DefaultDeliveryWait      = 0
	DefaultMaxFrameSize      = zmtp.DefaultMaxFrameSize
	DefaultHeartbeatInterval = time.Second
	DefaultPeerTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultBackoffMin        = 50 * time.Millisecond
	DefaultBackoffMax        = 5 * time.Second
)

// Option configures a Driver.
type Option func(*options)

type options struct {
	sendQueue         int
	sendWait          time.Duration
	deliveryWait      time.Duration
	maxFrame          int
	heartbeat         time.Duration
	peerTimeout       time.Duration
	writeTimeout      time.Duration
	handshakeTimeout  time.Duration
	backoffMin        time.Duration
	backoffMax        time.Duration
	identity          string
	logger            *slog.Logger
	disableHeartbeats bool
	curve             *curveConfig // CURVE hook (curve.go): nil is NULL
	replayPerTopic    int          // replay buffer (replay.go); 0: off
	replayBytes       int
}

func defaultOptions() options {
	host, _ := os.Hostname()
	return options{
		sendQueue:        DefaultSendQueue,
		sendWait:         DefaultSendWait,
		deliveryWait:     DefaultDeliveryWait,
		maxFrame:         DefaultMaxFrameSize,
		heartbeat:        DefaultHeartbeatInterval,
		peerTimeout:      DefaultPeerTimeout,
		writeTimeout:     DefaultWriteTimeout,
		handshakeTimeout: DefaultHandshakeTimeout,
		backoffMin:       DefaultBackoffMin,
		backoffMax:       DefaultBackoffMax,
		identity:         fmt.Sprintf("%s/%d", host, os.Getpid()),
		replayPerTopic:   DefaultReplayPerTopic,
		replayBytes:      DefaultReplayBytes,
	}
}

// WithSendQueue bounds each connection's send queue of a publisher (PUB: one
// per subscriber; PUSH: the one queue) in messages. A PUB drops, counts and
// reports what does not fit; a PUSH makes Publish wait, up to its bound.
func WithSendQueue(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.sendQueue = n
		}
	}
}

// WithSendWait sets how long a PUB's Publish may wait for room in a full
// subscriber queue (in all, per Publish; never beyond PublishTimeout or the
// Publish context). A subscriber that drains within it
// is never dropped for, it paces the publisher instead (as TCP would); one
// that does not is marked lagging and dropped for, without further waits,
// until its queue has emptied. 0 drops at once, as libzmq does.
func WithSendWait(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.sendWait = d
		}
	}
}

// WithDeliveryWait sets how long a subscriber's connection reader may wait
// for room in a full delivery queue (SubscriberConfig.QueueSize) before it
// drops events and reports GapOverflow. A delivery goroutine that catches up
// within it loses nothing (the wait pushes back on the socket, the
// publisher's queue absorbs it, and a slow OnEvent slows the publisher down
// to its pace); one that does not (OnEvent stuck) makes the inbox lagging:
// events that do not fit are dropped at once, without further waits, until
// the queue has emptied. The default, 0, follows the SubscriberConfig
// contract (a slow OnEvent leads to GapOverflow, never to a slower
// publisher): what does not fit is dropped at once.
func WithDeliveryWait(d time.Duration) Option {
	return func(o *options) {
		if d >= 0 {
			o.deliveryWait = d
		}
	}
}

// WithMaxFrameSize sets the largest frame a peer may send; a larger one
// closes that connection (counted as "frame_too_large").
func WithMaxFrameSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxFrame = n
		}
	}
}

// WithHeartbeat sets how often a publisher tells v2 subscribers its latest
// sequence numbers, and how often both sides send ZMTP PINGs.
func WithHeartbeat(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.heartbeat = d
		}
	}
}

// WithPeerTimeout sets how long a peer known to answer heartbeats (a v2 peer,
// or one that answered a PING) may stay silent before its connection is cut;
// a subscriber then reconnects and reports GapReconnect.
func WithPeerTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.peerTimeout = d
		}
	}
}

// WithWriteTimeout sets how long one write to a peer may make no progress
// before the connection is cut (a stuck subscriber).
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.writeTimeout = d
		}
	}
}

// WithHandshakeTimeout bounds dialing plus the ZMTP handshake.
func WithHandshakeTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.handshakeTimeout = d
		}
	}
}

// WithBackoff sets the reconnect backoff: the first retry waits about min,
// each failure doubles it up to max, each wait is jittered (±50 %).
func WithBackoff(minDelay, maxDelay time.Duration) Option {
	return func(o *options) {
		if minDelay > 0 {
			o.backoffMin = minDelay
		}
		if maxDelay >= o.backoffMin {
			o.backoffMax = maxDelay
		}
	}
}

// WithIdentity sets the ZMTP Identity a subscriber or PUSH sends in READY
// (default "<hostname>/<pid>"); publishers log and count drops under it.
// At most 255 bytes are sent.
func WithIdentity(id string) Option {
	return func(o *options) {
		if len(id) > 255 {
			id = id[:255]
		}
		o.identity = id
	}
}

// WithLogger sets the logger used when a config carries none.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithoutHeartbeats stops a publisher from sending sequence heartbeats (v2
// peers then detect tail loss only with the next event). For tests and
// benchmarks of the bare data path.
func WithoutHeartbeats() Option {
	return func(o *options) { o.disableHeartbeats = true }
}

// WithReplayBuffer bounds a PUB's replay buffer (replay.go): per topic the
// last perTopic messages, at most maxBytes across topics (the oldest
// message goes first). A v2 subscriber that resumes gets the messages it
// missed from it instead of resyncing. perTopic or maxBytes <= 0 turns the
// buffer off (a resume then always falls back to the subscriber's gap).
// Default: DefaultReplayPerTopic, DefaultReplayBytes.
func WithReplayBuffer(perTopic, maxBytes int) Option {
	return func(o *options) {
		o.replayPerTopic, o.replayBytes = perTopic, maxBytes
	}
}

// loggerOr returns l, the driver's logger, or a logger that discards.
func (o *options) loggerOr(l *slog.Logger) *slog.Logger {
	switch {
	case l != nil:
		return l
	case o.logger != nil:
		return o.logger
	}
	return slog.New(slog.DiscardHandler)
}

// pingTTL is the time-to-live sent in PINGs, in tenths of a second.
func (o *options) pingTTL() uint16 {
	return uint16(min(o.peerTimeout/(100*time.Millisecond), 0xFFFF))
}
