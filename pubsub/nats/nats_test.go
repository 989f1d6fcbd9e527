package nats_test

import (
	"github.com/dragonflow-go/dragonflow/discovery"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	dfnats "github.com/dragonflow-go/dragonflow/pubsub/nats"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs an in-process nats-server on 127.0.0.1:port (-1: a
// random free port) until the test ends, and returns it with its URL.
func startServer(t testing.TB, port int) (*server.Server, string) {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoSigs: true, NoLog: true})
	require.NoError(t, err)
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		ns.WaitForShutdown()
		require.FailNow(t, "nats-server not ready")
	}
	t.Cleanup(func() { stopServer(ns) })
	addr := ns.Addr().(*net.TCPAddr)
	return ns, "nats://127.0.0.1:" + strconv.Itoa(addr.Port)
}

func stopServer(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

// testDriver reconnects quickly, so the reconnect test runs fast.
func testDriver() *dfnats.Driver {
	return dfnats.NewDriver(natsgo.ReconnectWait(20*time.Millisecond), natsgo.ReconnectJitter(0, 0))
}

func TestConformance(t *testing.T) {
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		_, url := startServer(t, -1)
		return pubsubtest.Harness{
			Driver: testDriver(),
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{Hosts: []string{url}}
			},
			SubscriberHosts: []string{url},
		}
	})
}

// The registered driver runs the suite too (default options).
func TestConformanceRegistered(t *testing.T) {
	d, err := pubsub.Lookup("nats")
	require.NoError(t, err)
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		_, url := startServer(t, -1)
		// A host without a scheme gets nats://.
		host := url[len("nats://"):]
		return pubsubtest.Harness{
			Driver: d,
			PublisherConfig: func(*testing.T, string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{Hosts: []string{host}}
			},
			SubscriberHosts: []string{host},
		}
	})
}

type collector struct {
	events chan pubsub.Event
	gaps   chan pubsub.Gap
}

func newCollector() *collector {
	return &collector{events: make(chan pubsub.Event, 10000), gaps: make(chan pubsub.Gap, 1000)}
}

func (c *collector) config(hosts []string, topics ...string) pubsub.SubscriberConfig {
	return pubsub.SubscriberConfig{
		OnEvent: func(ev pubsub.Event) { c.events <- ev },
		OnGap:   func(g pubsub.Gap) { c.gaps <- g },
		Topics:  topics,
		Hosts:   hosts,
	}
}

func update(topic string, i int) model.DbUpdate {
	return model.DbUpdate{Table: model.TableLogicalPort, Key: strconv.Itoa(i), Action: model.ActionSet, Topic: topic}
}

// publishUntil publishes on topic, waiting up to 20 ms for an event after
// each, until one arrives, and returns it.
func publishUntil(t *testing.T, p pubsub.Publisher, c *collector, topic string, from int) pubsub.Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for i := from; time.Now().Before(deadline); i++ {
		// Errors while the broker is down are expected.
		_ = p.Publish(t.Context(), update(topic, i))
		select {
		case ev := <-c.events:
			return ev
		case <-time.After(20 * time.Millisecond):
		}
	}
	require.FailNow(t, "no event arrived")
	return pubsub.Event{}
}

// TestReconnect restarts the broker on the same port: the subscriber
// reports GapReconnect for every publisher, then delivery resumes by
// itself.
func TestReconnect(t *testing.T) {
	ns, url := startServer(t, -1)
	port := ns.Addr().(*net.TCPAddr).Port
	d := testDriver()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: []string{url}, WireMode: model.WireV2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	require.Equal(t, url+"/publisher/p", p.Info().URI)
	c := newCollector()
	s, err := d.NewSubscriber(t.Context(), c.config([]string{url}, "a.b"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: url}))

	ev := publishUntil(t, p, c, "a.b", 0)
	require.Equal(t, "p", ev.Meta.PublisherID)
	require.Equal(t, url, ev.Endpoint)
	require.Empty(t, c.gaps)

	stopServer(ns)
	startServer(t, port)

	select {
	case g := <-c.gaps:
		require.Equal(t, pubsub.GapReconnect, g.Reason)
		require.Empty(t, g.PublisherID, "a broker reconnect concerns every publisher")
		require.Empty(t, g.Topic)
		require.Error(t, g.Err)
	case <-time.After(20 * time.Second):
		require.FailNow(t, "no GapReconnect")
	}
	// Drain what arrived around the gap, then delivery resumes.
	ev = publishUntil(t, p, c, "a.b", 1000)
	require.Equal(t, "p", ev.Meta.PublisherID)
	require.NoError(t, s.Err())
	select {
	case <-s.Done():
		require.FailNow(t, "subscriber stopped")
	default:
	}
}

// A slow OnEvent makes the client's read loop drop messages; every drop is
// counted and reported as GapOverflow before the next event of its topic
// (the Tracker may then report the publisher's seq gap as well).
func TestOverflowCounted(t *testing.T) {
	_, url := startServer(t, -1)
	d := testDriver()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: []string{url}, WireMode: model.WireV2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	entered, release := make(chan struct{}), make(chan struct{})
	all := make(chan any, 1000)
	cfg := pubsub.SubscriberConfig{
		OnEvent: func(ev pubsub.Event) {
			if ev.Update.Key == "block" {
				close(entered)
				<-release
			}
			all <- ev
		},
		OnGap:     func(g pubsub.Gap) { all <- g },
		Topics:    []string{"t"},
		Hosts:     []string{url},
		QueueSize: 4,
	}
	s, err := d.NewSubscriber(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p"}))

	block := model.DbUpdate{Table: model.TableLogicalPort, Key: "block", Action: model.ActionSet, Topic: "t"}
	require.NoError(t, p.Publish(t.Context(), block))
	<-entered
	const n = 200
	for i := range n {
		require.NoError(t, p.Publish(t.Context(), update("t", i)))
	}
	// Wait until the broker has sent the whole burst: a plain client that
	// subscribes now receives the next event, which the broker forwards
	// after the burst.
	obs, err := natsgo.Connect(url)
	require.NoError(t, err)
	defer obs.Close()
	seen := make(chan *natsgo.Msg, 10)
	_, err = obs.ChanSubscribe(dfnats.Subject("t"), seen)
	require.NoError(t, err)
	require.NoError(t, obs.Flush())
	require.NoError(t, p.Publish(t.Context(), update("t", n)))
	select {
	case <-seen:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the observer got nothing")
	}
	close(release)

	var overflow uint64
	delivered := 0
	lastSeq := uint64(0)
	gapSince := false
	deadline := time.After(10 * time.Second)
	for delivered+int(overflow) < n+2 {
		select {
		case x := <-all:
			switch x := x.(type) {
			case pubsub.Event:
				if lastSeq != 0 && x.Meta.Seq != lastSeq+1 {
					require.True(t, gapSince, "seq %d after %d without a gap", x.Meta.Seq, lastSeq)
				}
				lastSeq, gapSince = x.Meta.Seq, false
				delivered++
			case pubsub.Gap:
				gapSince = true
				switch x.Reason {
				case pubsub.GapOverflow:
					require.Empty(t, x.PublisherID)
					require.Equal(t, "t", x.Topic)
					require.ErrorIs(t, x.Err, natsgo.ErrSlowConsumer)
					overflow += x.Lost
				case pubsub.GapSeq:
					require.Equal(t, "p", x.PublisherID)
				default:
					require.FailNow(t, "unexpected gap", "%v", x)
				}
			}
		case <-deadline:
			require.FailNow(t, "events missing", "delivered %d, overflow %d", delivered, overflow)
		}
	}
	require.Positive(t, overflow)
	require.Equal(t, overflow, s.(*dfnats.Subscriber).Dropped())
}

func TestSubjectEscape(t *testing.T) {
	for topic, want := range map[string]string{
		"":          "%",
		"D":         "D",
		"a.b":       "a%2Eb",
		"*":         "%2A",
		">":         "%3E",
		"a b\tc":    "a%20b%09c",
		"100%":      "100%25",
		"%":         "%25",
		"port-é":    "port-é",
		"t1234.a.*": "t1234%2Ea%2E%2A",
	} {
		require.Equal(t, want, dfnats.EscapeTopic(topic), "topic %q", topic)
		got, err := dfnats.UnescapeTopic(want)
		require.NoError(t, err)
		require.Equal(t, topic, got)
		require.Equal(t, "df."+want, dfnats.Subject(topic))
	}
	for _, bad := range []string{"%2", "%zz", "a%", "%2e"} {
		_, err := dfnats.UnescapeTopic(bad)
		require.Error(t, err, "token %q", bad)
	}
}

func TestConfigErrors(t *testing.T) {
	_, url := startServer(t, -1)
	d := testDriver()
	_, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{Hosts: []string{url}})
	require.ErrorContains(t, err, "OnEvent")
	_, err = d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{OnEvent: func(pubsub.Event) {}, QueueSize: -1, Hosts: []string{url}})
	require.ErrorContains(t, err, "QueueSize")
	_, err = d.NewPublisher(t.Context(), pubsub.PublisherConfig{Hosts: []string{url}})
	require.ErrorContains(t, err, "empty ID")

	s, err := d.NewSubscriber(t.Context(), newCollector().config([]string{url}))
	require.NoError(t, err)
	require.ErrorContains(t, s.RegisterPublisher(pubsub.Endpoint{URI: url}), "empty PublisherID")
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.RegisterTopic("x"), pubsub.ErrClosed)
	require.ErrorIs(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p"}), pubsub.ErrClosed)
}

// With no broker listening, NewPublisher and NewSubscriber fail.
func TestNoBroker(t *testing.T) {
	ns, url := startServer(t, -1)
	stopServer(ns)
	d := testDriver()
	_, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Hosts: []string{url}})
	require.Error(t, err)
	_, err = d.NewSubscriber(t.Context(), newCollector().config([]string{url}))
	require.Error(t, err)
}

// A connection the client gives up on (here: no reconnects allowed) stops
// the subscriber: a GapReconnect is reported, Done is closed and Err says
// why; Close still succeeds.
func TestFatalConnectionLoss(t *testing.T) {
	ns, url := startServer(t, -1)
	d := dfnats.NewDriver(natsgo.MaxReconnects(0))
	c := newCollector()
	s, err := d.NewSubscriber(t.Context(), c.config([]string{url}, "a"))
	require.NoError(t, err)
	stopServer(ns)
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Done not closed")
	}
	require.Error(t, s.Err())
	g := <-c.gaps
	require.Equal(t, pubsub.GapReconnect, g.Reason)
	require.Empty(t, g.PublisherID)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	require.Error(t, s.Err(), "Err keeps the cause after Close")
}

// Discovery de-duplicates publisher rows by uri: two publishers on one NATS
// server must advertise different uris, each accepted by the publisher table.
func TestPublisherURIsAreDistinct(t *testing.T) {
	_, url := startServer(t, -1)
	d := testDriver()
	var uris []string
	for _, id := range []string{"p", "q"} {
		p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: id, Hosts: []string{url}})
		require.NoError(t, err)
		uris = append(uris, p.Info().URI)
		require.NoError(t, discovery.CheckURI(p.Info().URI))
		require.NoError(t, p.Close())
	}
	require.NotEqual(t, uris[0], uris[1])
	require.Contains(t, uris[0], "/publisher/p")
}
