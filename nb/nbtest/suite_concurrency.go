package nbtest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

func init() {
	register("ConcurrentCAS", testConcurrentCAS)
}

const (
	casWriters    = 8
	casIncrements = 50
)

// increment adds one to the counter row with Get + Update(expectRev),
// retrying on ErrVersionConflict.
func increment(ctx context.Context, d nb.Driver, key string) error {
	for {
		kv, err := d.Get(ctx, tableA, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(kv.Value))
		if err != nil {
			return err
		}
		_, err = d.Update(ctx, tableA, key, []byte(strconv.Itoa(n+1)), kv.ModRevision)
		if !errors.Is(err, nb.ErrVersionConflict) {
			return err
		}
	}
}

func testConcurrentCAS(t *testing.T, h Harness) {
	ctx, d := caseCtx(t), h.Driver
	created := create(t, ctx, d, tableA, "counter", "0")
	s := watch(t, ctx, d, tableA, created+1)

	var wg sync.WaitGroup
	for range casWriters {
		wg.Go(func() {
			for range casIncrements {
				if !assert.NoError(t, increment(ctx, d, "counter")) {
					return
				}
			}
		})
	}
	wg.Wait()
	const total = casWriters * casIncrements
	require.Equal(t, strconv.Itoa(total), string(get(t, ctx, d, tableA, "counter").Value))

	prev := created
	for i := 1; i <= total; i++ {
		ev := s.next()
		requirePut(t, ev, "counter", strconv.Itoa(i), ev.KV.ModRevision, false)
		require.Greater(t, ev.KV.ModRevision, prev)
		require.Equal(t, created, ev.KV.CreateRevision)
		prev = ev.KV.ModRevision
	}
}
