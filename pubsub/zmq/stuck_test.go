package zmq_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq/zmtp"
)

// TestStuckSubscriber: a peer that completes the handshake and subscribes,
// then never reads, sits next to a healthy subscriber. The healthy one gets
// every event; Publish never blocks beyond the send wait; the stuck peer's
// drops are counted under its identity, and it is cut after the write
// timeout.
func TestStuckSubscriber(t *testing.T) {
	const (
		sendWait     = 20 * time.Millisecond
		writeTimeout = 300 * time.Millisecond
		rounds, per  = 40, 250
	)
	d := fastDriver(zmq.WithSendQueue(128), zmq.WithSendWait(sendWait), zmq.WithWriteTimeout(writeTimeout))
	p := startPub(t, d, "pub-stuck", "tcp://127.0.0.1:0", 1)
	s, sk := startSub(t, d, 0, "D")
	register(t, s, p.Info().ID, p.Info().URI)

	stuck := dialRaw(t, p.Info().URI, zmtp.SUB, zmtp.Property{Name: zmtp.PropIdentity, Value: "stuck-peer"})
	require.NoError(t, stuck.Conn.(*net.TCPConn).SetReadBuffer(4096))
	_, err := stuck.Write(zmtp.AppendSubscribe(nil, stuck.peer.Minor31(), "D"))
	require.NoError(t, err)
	waitSubscribed(t, p, 2, "D")

	big := strings.Repeat("v", 4000) // 4 KB events fill the stuck peer's socket buffers fast
	var slowest time.Duration
	n := 0
	for r := range rounds {
		for i := range per {
			u := model.DbUpdate{Table: model.TableLogicalPort, Key: fmt.Sprintf("k-%d-%d", r, i),
				Action: model.ActionSet, Value: []byte(big), Topic: "D"}
			start := time.Now()
			require.NoError(t, p.Publish(context.Background(), u))
			slowest = max(slowest, time.Since(start))
			n++
		}
		waitUntil(t, "the healthy subscriber keeps up", func() bool {
			return sk.count(func(pubsub.Event) bool { return true }) == n
		})
	}
	evs, gaps := sk.snapshot()
	require.Empty(t, gaps, "the healthy subscriber lost nothing")
	requireSeqRun(t, evs)
	require.Less(t, slowest, sendWait+200*time.Millisecond, "Publish blocked beyond its bound")

	waitUntil(t, "the stuck peer is cut", func() bool {
		st := p.Stats()
		return st.Cut >= 1 && len(st.Conns) == 1
	})
	st := p.Stats()
	var dropped uint64
	for id, n := range st.DroppedBy {
		if strings.HasPrefix(id, "stuck-peer@") {
			dropped += n
		}
	}
	require.NotZero(t, dropped, "drops counted under the stuck peer's identity: %v", st.DroppedBy)
	require.Equal(t, st.Dropped, dropped, "only the stuck peer lost events")
	t.Logf("slowest Publish %v; stuck peer dropped %d of %d", slowest, dropped, n)
}
