package aio

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// StopDB makes the NB DB unreachable; StartDB brings it back on the same
// address with its data, and the AIO's client reconnects on its own.
func TestStopStartDB(t *testing.T) {
	a, err := Start(t.Context(), Options{DataDir: t.TempDir(), DBAddr: "127.0.0.1:0", DBOnly: true}, io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	before := a.server().Endpoints()
	_, err = a.DB().Put(t.Context(), "lswitch", "before", []byte(`{"id":"before"}`))
	require.NoError(t, err)

	require.NoError(t, a.StopDB())
	require.Error(t, a.StopDB(), "already stopped")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err = a.DB().Put(ctx, "lswitch", "during", []byte(`{"id":"during"}`))
	cancel()
	require.Error(t, err, "the NB DB is down")

	require.NoError(t, a.StartDB(t.Context()))
	require.Error(t, a.StartDB(t.Context()), "already running")
	require.Equal(t, before, a.server().Endpoints(), "same socket and TCP address")
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		kv, err := a.DB().Get(ctx, "lswitch", "before")
		return err == nil && string(kv.Value) == `{"id":"before"}`
	}, 20*time.Second, 20*time.Millisecond, "the data survived and the client reconnected")
}
