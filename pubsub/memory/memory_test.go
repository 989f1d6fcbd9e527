package memory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/memory"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		return pubsubtest.Harness{
			Driver: memory.NewHub().Driver(),
			PublisherConfig: func(_ *testing.T, id string) pubsub.PublisherConfig {
				return pubsub.PublisherConfig{ListenURI: "mem://" + id + "/pub"}
			},
			PrefixTopics: true,
		}
	})
}

// TestConformanceDefaultURIs runs the suite with no ListenURI (each
// publisher binds mem://<id>) on the registered driver's default hub.
func TestConformanceDefaultURIs(t *testing.T) {
	d, err := pubsub.Lookup("memory")
	require.NoError(t, err)
	pubsubtest.Run(t, func(*testing.T) pubsubtest.Harness {
		return pubsubtest.Harness{Driver: d, PrefixTopics: true}
	})
}

// collector records callbacks, for the driver-specific tests below.
type collector struct {
	events chan pubsub.Event
	gaps   chan pubsub.Gap
}

func newCollector() *collector {
	return &collector{events: make(chan pubsub.Event, 1000), gaps: make(chan pubsub.Gap, 100)}
}

func (c *collector) config(topics ...string) pubsub.SubscriberConfig {
	return pubsub.SubscriberConfig{
		OnEvent: func(ev pubsub.Event) { c.events <- ev },
		OnGap:   func(g pubsub.Gap) { c.gaps <- g },
		Topics:  topics,
	}
}

func startPublisher(t *testing.T, d *memory.Driver, cfg pubsub.PublisherConfig) pubsub.Publisher {
	t.Helper()
	p, err := d.NewPublisher(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return p
}

func startSubscriber(t *testing.T, d *memory.Driver, cfg pubsub.SubscriberConfig) *memory.Subscriber {
	t.Helper()
	s, err := d.NewSubscriber(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s.(*memory.Subscriber)
}

func update(topic string, i int) model.DbUpdate {
	return model.DbUpdate{Table: model.TableLogicalPort, Key: fmt.Sprint(i), Action: model.ActionSet, Topic: topic}
}

// With no further event of the publisher, an overflow is reported as soon
// as the queue runs empty, with the exact count, and the next event after
// it is no (second) gap.
func TestOverflowReportedPromptlyAndExactly(t *testing.T) {
	d := memory.NewHub().Driver()
	p := startPublisher(t, d, pubsub.PublisherConfig{ID: "p", Epoch: 1})
	entered, release := make(chan struct{}), make(chan struct{})
	c := newCollector()
	cfg := c.config("D")
	cfg.QueueSize = 4
	cfg.OnEvent = func(ev pubsub.Event) {
		if ev.Update.Key == "0" {
			close(entered)
			<-release
		}
		c.events <- ev
	}
	s := startSubscriber(t, d, cfg)
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: p.Info().URI}))

	require.NoError(t, p.Publish(t.Context(), update("", 0)))
	<-entered
	for i := 1; i < 40; i++ {
		require.NoError(t, p.Publish(t.Context(), update("", i)))
	}
	// 1 in OnEvent, 4 queued (seqs 2..5), 35 dropped (seqs 6..40).
	require.Equal(t, uint64(35), s.Dropped())
	close(release)
	for range 5 {
		<-c.events
	}
	g := <-c.gaps
	require.Equal(t, pubsub.Gap{Reason: pubsub.GapOverflow, PublisherID: "p", Topic: "D", Expected: 6, Got: 40, Lost: 35}, g)

	require.NoError(t, p.Publish(t.Context(), update("", 40)))
	ev := <-c.events
	require.Equal(t, uint64(41), ev.Meta.Seq)
	require.Empty(t, c.gaps, "the overflow is not reported again as a seq gap")
}

// A strict (v1-compatible) publisher's events carry no Meta: they are
// delivered untracked.
func TestStrictWireModeDeliversWithoutMeta(t *testing.T) {
	d := memory.NewHub().Driver()
	p := startPublisher(t, d, pubsub.PublisherConfig{ID: "p", Epoch: 1, WireMode: model.WireStrict})
	c := newCollector()
	s := startSubscriber(t, d, c.config("D"))
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: "mem://p"}))
	require.NoError(t, p.Publish(t.Context(), update("D", 1)))
	ev := <-c.events
	require.True(t, ev.Meta.IsZero())
	require.Equal(t, update("D", 1), ev.Update)
	require.Equal(t, "mem://p", ev.Endpoint)
}

// A subscriber may register a URI before any publisher binds it.
func TestRegisterBeforeBind(t *testing.T) {
	d := memory.NewHub().Driver()
	c := newCollector()
	s := startSubscriber(t, d, c.config("D"))
	require.NoError(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "late", URI: "mem://late"}))
	p := startPublisher(t, d, pubsub.PublisherConfig{ID: "late", Epoch: 1})
	require.NoError(t, p.Publish(t.Context(), update("D", 1)))
	require.Equal(t, "late", (<-c.events).Meta.PublisherID)
}

func TestBindConflict(t *testing.T) {
	d := memory.NewHub().Driver()
	p := startPublisher(t, d, pubsub.PublisherConfig{ID: "a", ListenURI: "mem://shared"})
	_, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "b", ListenURI: "mem://shared"})
	require.ErrorIs(t, err, memory.ErrAddressInUse)
	require.NoError(t, p.Close())
	q := startPublisher(t, d, pubsub.PublisherConfig{ID: "b", ListenURI: "mem://shared"})
	require.Equal(t, "mem://shared", q.Info().URI, "a closed publisher's URI is free at once")
}

func TestPublisherURI(t *testing.T) {
	for listen, want := range map[string]string{
		"":                   "mem://p",
		"mem://x":            "mem://x",
		"mem://":             "mem://p",
		"tcp://0.0.0.0:8866": "mem://p",
	} {
		require.Equal(t, want, memory.URI(pubsub.PublisherConfig{ID: "p", ListenURI: listen}), "ListenURI %q", listen)
	}
}

func TestConfigErrors(t *testing.T) {
	d := memory.NewHub().Driver()
	_, err := d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{})
	require.ErrorContains(t, err, "OnEvent")
	_, err = d.NewSubscriber(t.Context(), pubsub.SubscriberConfig{OnEvent: func(pubsub.Event) {}, QueueSize: -1})
	require.ErrorContains(t, err, "QueueSize")
	_, err = d.NewPublisher(t.Context(), pubsub.PublisherConfig{})
	require.ErrorContains(t, err, "empty ID")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = d.NewPublisher(ctx, pubsub.PublisherConfig{ID: "p"})
	require.ErrorIs(t, err, context.Canceled)

	p := startPublisher(t, d, pubsub.PublisherConfig{ID: "p"})
	require.ErrorIs(t, p.Publish(ctx, update("D", 1)), context.Canceled)
	s := startSubscriber(t, d, newCollector().config())
	require.ErrorContains(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: "tcp://x:1"}), "not mem://")
	require.ErrorContains(t, s.RegisterPublisher(pubsub.Endpoint{URI: "mem://p"}), "empty PublisherID")
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.RegisterTopic("x"), pubsub.ErrClosed)
	require.ErrorIs(t, s.RegisterPublisher(pubsub.Endpoint{PublisherID: "p", URI: "mem://p"}), pubsub.ErrClosed)
}
