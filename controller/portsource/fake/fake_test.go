package fake_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller/portsource"
	"github.com/dragonflow-go/dragonflow/controller/portsource/fake"
)

func TestLifecycle(t *testing.T) {
	s := fake.New()
	_, err := s.Set(t.Context(), "p1", portsource.StatusUp)
	require.ErrorIs(t, err, portsource.ErrNotStarted)
	var got []portsource.Change
	require.NoError(t, s.Start(func(_ context.Context, c portsource.Change) (portsource.Result, error) {
		got = append(got, c)
		if c.Port == "bad" {
			return portsource.Result{}, portsource.ErrUnknownPort
		}
		return portsource.Result{Port: c.Port, Status: "ACTIVE"}, nil
	}))
	require.Error(t, s.Start(nil))
	res, err := s.Set(t.Context(), "p1", portsource.StatusUp)
	require.NoError(t, err)
	require.Equal(t, "p1", res.Port)
	_, err = s.Set(t.Context(), "p1", "sideways")
	require.ErrorIs(t, err, portsource.ErrBadStatus)
	_, err = s.Set(t.Context(), "bad", portsource.StatusDown)
	require.True(t, errors.Is(err, portsource.ErrUnknownPort))
	require.Equal(t, []portsource.Change{{Port: "p1", Status: "up"}, {Port: "bad", Status: "down"}}, got)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
	_, err = s.Set(t.Context(), "p1", portsource.StatusUp)
	require.ErrorIs(t, err, portsource.ErrClosed)
}
