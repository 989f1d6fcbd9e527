package nbapi_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// The NbApi counts what its publisher sends and its subscriber receives,
// per topic, with latency, gaps, registration state and the zmq publisher's
// per-subscriber figures, and sums them up for a status line.
func TestFabricMetrics(t *testing.T) {
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	cfg, err := config.Load(nil, nil)
	require.NoError(t, err)
	require.NoError(t, cfg.Set("controller", "publisher_port", strconv.Itoa(port)))
	require.NoError(t, cfg.Set("controller", "publisher_binding_address", "127.0.0.1"))
	db := memory.New()
	defer db.Close()
	api, err := nbapi.New(ctx, cfg, nbapi.RoleLocalController, nbapi.WithDB(db), nbapi.WithPubSubDriver(zmq.New()))
	require.NoError(t, err)
	defer api.Close()

	got := make(chan pubsub.Event, 16)
	sub, err := api.StartSubscriber(ctx, pubsub.SubscriberConfig{Topics: []string{"D"},
		OnEvent: func(ev pubsub.Event) { got <- ev }})
	require.NoError(t, err)
	info := api.Publisher().Info()
	require.NoError(t, sub.RegisterPublisher(pubsub.Endpoint{PublisherID: info.ID, URI: info.URI}))
	zp := pubsub.Unwrap(api.Publisher()).(*zmq.Publisher)
	require.Eventually(t, func() bool { return zp.Stats().Subscribed("D") == 1 }, 10*time.Second, 2*time.Millisecond)

	for i := range 3 {
		require.NoError(t, api.Create(ctx, lport("p"+strconv.Itoa(i), "t1", "x")))
		<-got
	}
	st := api.FabricStats()
	require.Equal(t, uint64(3), st.Published)
	require.Equal(t, uint64(3), st.Received)
	require.True(t, st.Registered)
	require.Positive(t, st.LagMillis)

	reg := prometheus.NewRegistry()
	for _, c := range api.Collectors() {
		require.NoError(t, reg.Register(c))
	}
	fams, err := reg.Gather()
	require.NoError(t, err)
	byName := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				byName[f.GetName()] += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				byName[f.GetName()] += m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				byName[f.GetName()] += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	require.Equal(t, 3.0, byName["df_events_published_total"])
	require.Equal(t, 3.0, byName["df_events_received_total"])
	require.Equal(t, 3.0, byName["df_event_latency_seconds"])
	require.Equal(t, 1.0, byName["df_publisher_registered"])
	require.Contains(t, byName, "df_subscriber_queue_depth", "zmq per-subscriber series")
	require.Contains(t, byName, "df_reconnects_total")
}
