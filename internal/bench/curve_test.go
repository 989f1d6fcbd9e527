package bench

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSmokeZMQCurve runs the throughput scenarios against zmq with CURVE:
// every event crosses an authenticated, encrypted connection, and the RSS
// child (a separate process) reaches the publisher with the same keys.
func TestSmokeZMQCurve(t *testing.T) {
	tr, err := Open(ZMQCurveName, nil)
	require.NoError(t, err)
	rep, err := Run(context.Background(), Options{
		Transports: []Transport{RawTCP{}, tr},
		Scenarios:  []string{"a-tput", "c-rss"},
		Passes:     1,
		Window:     100 * time.Millisecond,
		Subs:       3,
		Drain:      2 * time.Second,
		Settle:     10 * time.Millisecond,
		Progress:   &bytes.Buffer{},
	})
	require.NoError(t, err)
	for _, res := range rep.Results {
		require.Empty(t, res.Error, "%s %s", res.Scenario, res.Transport)
		require.NotZero(t, res.Received, "%s %s", res.Scenario, res.Transport)
	}
	var md bytes.Buffer
	require.NoError(t, rep.Markdown(&md))
	require.Contains(t, md.String(), "| "+ZMQCurveName+" | ")
}
