package bench

import (
	"crypto/sha256"
	"fmt"
	"log/slog"

	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// ZMQCurveName is the zmq driver with ZMTP CURVE on every connection, to
// measure what encryption and authentication cost against plain zmq.
const ZMQCurveName = "zmq-curve"

// benchKey is a fixed secret key derived from label: the bench's publisher
// and its subscribers (some in the RSS child process) must agree on keys
// without talking, and these keys protect nothing.
func benchKey(label string) (string, error) {
	sum := sha256.Sum256([]byte("dfctl bench curve key: " + label))
	return zmtp.Z85Encode(sum[:])
}

// NewZMQCurve is the zmq driver with CURVE: a server key pair for the
// publisher, one client key pair for every subscriber, allowed by the
// server.
func NewZMQCurve(logger *slog.Logger) (*Driver, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	serverSecret, err := benchKey("server")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	clientSecret, err := benchKey("client")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	serverPublic, err := zmq.CurvePublicKey(serverSecret)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	clientPublic, err := zmq.CurvePublicKey(clientSecret)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	drv := zmq.New(zmq.WithLogger(logger),
		zmq.WithCurveServer(serverSecret, []string{clientPublic}),
		zmq.WithCurveClient(clientSecret, clientPublic, serverPublic))
	data, warmup := DriverUpdates()
	return &Driver{name: ZMQCurveName, drv: drv, logger: logger, data: data, warmup: warmup,
		rings: map[string]*stampRing{}}, nil
}
