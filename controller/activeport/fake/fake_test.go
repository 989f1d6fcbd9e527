package fake_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/controller/activeport/fake"
)

func TestLifecycle(t *testing.T) {
	d := fake.New()
	det := activeport.Detection{Action: activeport.Set, Network: "n", IP: "10.0.0.1", Port: "p"}
	_, err := d.Report(t.Context(), det)
	require.ErrorIs(t, err, activeport.ErrNotStarted)
	require.NoError(t, d.Start(func(_ context.Context, x activeport.Detection) (activeport.Result, error) {
		return activeport.Result{Action: x.Action, ID: x.Network + x.IP}, nil
	}))
	res, err := d.Report(t.Context(), det)
	require.NoError(t, err)
	require.Equal(t, "n10.0.0.1", res.ID)
	for _, bad := range []activeport.Detection{
		{Action: "move", Network: "n", IP: "10.0.0.1", Port: "p"},
		{Action: activeport.Del, IP: "10.0.0.1", Port: "p"},
		{Action: activeport.Set, Network: "n", IP: "ten", Port: "p"},
	} {
		_, err := d.Report(t.Context(), bad)
		require.ErrorIs(t, err, activeport.ErrInvalid, "%+v", bad)
	}
	require.NoError(t, d.Close())
	_, err = d.Report(t.Context(), det)
	require.ErrorIs(t, err, activeport.ErrClosed)
}
