package nats_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// TestUnregisterPublisherFence is the registration fence without the
// conformance suite's barriers around it: a publisher is unregistered,
// publishes (large bodies too, which the client writes in pieces), and is
// registered again at once. None of what it published while unregistered
// arrives, everything after arrives, in order and with no gap. Before
// Publish flushed, an event still in the publisher client's write buffer
// overtook the subscriber's fence (the suite's UnregisterPublisher case
// failed about 1 run in 30).
func TestUnregisterPublisherFence(t *testing.T) {
	_, url := startServer(t, -1)
	d := testDriver()
	p, err := d.NewPublisher(t.Context(), pubsub.PublisherConfig{ID: "p", Epoch: 1, Hosts: []string{url}, WireMode: model.WireV2})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	c := newCollector()
	s, err := d.NewSubscriber(t.Context(), c.config([]string{url}, "t"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ep := pubsub.Endpoint{PublisherID: "p", URI: p.Info().URI}
	require.NoError(t, s.RegisterPublisher(ep))
	last := publishUntil(t, p, c, "t", 0).Meta.Seq

	big := strings.Repeat("v", 70_000)
	send := func(tag string, n int) {
		for i := range n {
			u := model.DbUpdate{Table: model.TableLogicalPort, Key: fmt.Sprintf("%s-%d", tag, i), Action: model.ActionSet, Topic: "t"}
			if i%3 == 0 {
				u.Value = []byte(big)
			}
			require.NoError(t, p.Publish(t.Context(), u))
		}
	}
	require.NoError(t, s.UnregisterPublisher("p"))
	send("while", 20)
	require.NoError(t, s.RegisterPublisher(ep))
	send("after", 20)

	for got := 0; got < 20; {
		select {
		case ev := <-c.events:
			require.NotContains(t, ev.Update.Key, "while", "an event published while unregistered arrived")
			if !strings.HasPrefix(ev.Update.Key, "after-") {
				require.Zero(t, got, "a late probe after the test events")
				continue
			}
			require.Equal(t, fmt.Sprintf("after-%d", got), ev.Update.Key)
			if got > 0 {
				require.Equal(t, last+1, ev.Meta.Seq, "consecutive seqs")
			}
			last = ev.Meta.Seq
			got++
		case <-time.After(10 * time.Second):
			require.FailNow(t, "events missing", "got %d of 20", got)
		}
	}
	require.Empty(t, c.gaps)
}
