package nbtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/nb"
)

// stream reads a watch channel event by event, checking on the way that
// every event is of the watched table and revisions never go back.
type stream struct {
	t       *testing.T
	table   string
	ch      <-chan nb.WatchResponse
	pending []nb.Event
	lastRev int64
}

func watch(t *testing.T, ctx context.Context, d nb.Driver, table string, fromRev int64) *stream {
	return &stream{t: t, table: table, ch: d.Watch(ctx, table, fromRev)}
}

// recv returns the next response; ok is false once the channel is closed.
func (s *stream) recv() (resp nb.WatchResponse, ok bool) {
	s.t.Helper()
	select {
	case resp, ok = <-s.ch:
		return resp, ok
	case <-time.After(waitTimeout):
		s.t.Fatalf("watch %s: no response within %v", s.table, waitTimeout)
		return resp, false
	}
}

// next returns the next event; the watch must not end or fail first.
func (s *stream) next() nb.Event {
	s.t.Helper()
	for len(s.pending) == 0 {
		resp, ok := s.recv()
		require.True(s.t, ok, "watch %s closed early", s.table)
		require.NoError(s.t, resp.Err, "watch %s", s.table)
		for _, ev := range resp.Events {
			require.Equal(s.t, s.table, ev.KV.Table, "watch %s got an event of another table: %+v", s.table, ev)
			require.GreaterOrEqual(s.t, ev.KV.ModRevision, s.lastRev, "watch %s: revision went back", s.table)
			s.lastRev = ev.KV.ModRevision
		}
		if len(resp.Events) > 0 {
			require.GreaterOrEqual(s.t, resp.Revision, s.lastRev, "response Revision below its events'")
		}
		s.pending = append(s.pending, resp.Events...)
	}
	ev := s.pending[0]
	s.pending = s.pending[1:]
	return ev
}

func (s *stream) take(n int) []nb.Event {
	s.t.Helper()
	evs := make([]nb.Event, n)
	for i := range evs {
		evs[i] = s.next()
	}
	return evs
}

// requireEnd reads until the channel closes. Every response but the last
// must be error-free; the last must carry want (nil: no error at all). It
// returns the last response.
func (s *stream) requireEnd(want error) nb.WatchResponse {
	s.t.Helper()
	var last nb.WatchResponse
	for {
		resp, ok := s.recv()
		if !ok {
			break
		}
		require.NoError(s.t, last.Err, "a response followed an error response")
		last = resp
	}
	if want == nil {
		require.NoError(s.t, last.Err)
	} else {
		require.ErrorIs(s.t, last.Err, want)
	}
	return last
}

func requirePut(t *testing.T, ev nb.Event, key, value string, modRev int64, created bool) {
	t.Helper()
	require.Equal(t, nb.EventPut, ev.Type, "event %+v", ev)
	require.Equal(t, key, ev.KV.Key)
	require.Equal(t, value, string(ev.KV.Value))
	require.Equal(t, modRev, ev.KV.ModRevision, "ModRevision of put %s", key)
	require.Equal(t, created, ev.Created(), "Created() of put %s at %d", key, modRev)
}

// requireDelete checks a delete event; its value, when the driver reports
// one, must be the row's last value.
func requireDelete(t *testing.T, ev nb.Event, key, lastValue string) {
	t.Helper()
	require.Equal(t, nb.EventDelete, ev.Type, "event %+v", ev)
	require.Equal(t, key, ev.KV.Key)
	require.Positive(t, ev.KV.ModRevision)
	require.False(t, ev.Created())
	if ev.KV.Value != nil {
		require.Equal(t, lastValue, string(ev.KV.Value))
	}
	if ev.PrevValue != nil {
		require.Equal(t, lastValue, string(ev.PrevValue))
	}
}
