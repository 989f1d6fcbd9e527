package nbapi_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub/recorder"
)

// errGone is what a client sees when the NB DB stops during a call that it
// had already applied ("etcdserver: request timed out", a closed stream).
var errGone = errors.New("rpc error: the server is stopping")

// flakyDB applies writes and then reports errGone when fail is set: the
// write's outcome is unknown to the caller.
type flakyDB struct {
	nb.Driver
	fail bool
}

func (d *flakyDB) Create(ctx context.Context, table, key string, v []byte, opts ...nb.PutOption) (int64, error) {
	rev, err := d.Driver.Create(ctx, table, key, v, opts...)
	if err == nil && d.fail {
		return 0, errGone
	}
	return rev, err
}

func (d *flakyDB) Update(ctx context.Context, table, key string, v []byte, rev int64, opts ...nb.PutOption) (int64, error) {
	r, err := d.Driver.Update(ctx, table, key, v, rev, opts...)
	if err == nil && d.fail {
		return 0, errGone
	}
	return r, err
}

func (d *flakyDB) Delete(ctx context.Context, table, key string, rev int64) error {
	err := d.Driver.Delete(ctx, table, key, rev)
	if err == nil && d.fail {
		return errGone
	}
	return err
}

// A write that may have been applied although the NB DB call failed is
// followed by a resync marker on the object's topic, so subscribers repair
// it at once instead of missing it silently; a definite refusal publishes
// nothing.
func TestWriteOfUnknownOutcomePublishesResyncMarker(t *testing.T) {
	ctx := context.Background()
	for _, selective := range []bool{false, true} {
		cfg, err := config.Load(nil, nil)
		require.NoError(t, err)
		if selective {
			require.NoError(t, cfg.Set("df", "enable_selective_topology_distribution", "true"))
		}
		mem := memory.New()
		db := &flakyDB{Driver: mem}
		drv := &recorder.Driver{}
		api, err := nbapi.New(ctx, cfg, nbapi.RoleNeutronServer, nbapi.WithDB(db), nbapi.WithPubSubDriver(drv))
		require.NoError(t, err)
		rec := drv.Built()[0]
		want := "D"
		if selective {
			want = "tenant1"
		}

		db.fail = true
		require.ErrorIs(t, api.Create(ctx, lport("p1", "tenant1", "a")), errGone)
		_, err = api.Update(ctx, lport("p1", "tenant1", "b"))
		require.ErrorIs(t, err, errGone)
		require.ErrorIs(t, api.Delete(ctx, lport("p1", "tenant1", "")), errGone)
		ups := rec.Updates()
		require.Len(t, ups, 3, "one marker per uncertain write, no change event")
		for _, u := range ups {
			r, ok := pubservice.ParseResync(u)
			require.True(t, ok, "%+v is a resync marker", u)
			require.Equal(t, want, r.Topic)
			require.Equal(t, nbapi.ReasonWriteUncertain, r.Reason)
			require.Equal(t, want, u.Topic)
		}

		db.fail = false
		require.ErrorIs(t, api.Delete(ctx, lport("p1", "tenant1", "")), nb.ErrNotFound)
		require.NoError(t, api.Create(ctx, lport("p2", "tenant1", "a")))
		require.ErrorIs(t, api.Create(ctx, lport("p2", "tenant1", "a")), nb.ErrExists)
		require.Len(t, rec.Updates(), 4, "definite refusals publish nothing")
		require.NoError(t, api.Close())
		require.NoError(t, mem.Close())
	}
}
