package deliver_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/internal/deliver"
)

func TestPublishers(t *testing.T) {
	p := deliver.NewPublishers[int64]("drv")
	_, ok := p.Get("a")
	require.False(t, ok)
	require.False(t, p.SetURI("a", "u0"), "SetURI registers nothing")
	_, ok = p.Get("a")
	require.False(t, ok)

	ra := p.Add("a", "u1", 10)
	rb := p.Add("b", "v1", 11)
	require.NotEqual(t, ra.Gen, rb.Gen)
	got, ok := p.Get("a")
	require.True(t, ok)
	require.Equal(t, deliver.Registration[int64]{URI: "u1", Gen: ra.Gen, Fence: 10}, got)

	// Registering again only changes the URI.
	require.True(t, p.SetURI("a", "u2"))
	got, _ = p.Get("a")
	require.Equal(t, deliver.Registration[int64]{URI: "u2", Gen: ra.Gen, Fence: 10}, got)

	// Anew after Remove: a new generation.
	require.NoError(t, p.Remove("a"))
	_, ok = p.Get("a")
	require.False(t, ok)
	err := p.Remove("a")
	require.ErrorIs(t, err, pubsub.ErrUnknownPublisher)
	require.ErrorContains(t, err, `drv: unregister publisher "a"`)
	ra2 := p.Add("a", "u3", 12)
	require.NotEqual(t, ra.Gen, ra2.Gen)
	require.NotEqual(t, rb.Gen, ra2.Gen)
}

func TestPublishersUpdateFences(t *testing.T) {
	type fence struct {
		n      uint64
		active bool
	}
	p := deliver.NewPublishers[fence]("drv")
	p.Add("a", "u", fence{n: 1})
	p.Add("b", "u", fence{n: 2})
	p.UpdateFences(func(f *fence) {
		if f.n <= 1 {
			f.active = true
		}
	})
	a, _ := p.Get("a")
	b, _ := p.Get("b")
	require.True(t, a.Fence.active)
	require.False(t, b.Fence.active)
	require.Equal(t, "u", b.URI)
}

func TestCheckEndpoint(t *testing.T) {
	require.NoError(t, deliver.CheckEndpoint("drv", pubsub.Endpoint{PublisherID: "a"}))
	require.EqualError(t, deliver.CheckEndpoint("drv", pubsub.Endpoint{URI: "x://y"}),
		`drv: register publisher: empty PublisherID (URI "x://y")`)
}
