package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/testutil"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

// lockedBuffer is safe to read while the command under test writes to it.
type lockedBuffer = testutil.LockedBuffer

const waitLong = 10 * time.Second

// running is a dfctl command running in the background.
type running struct {
	out, errb lockedBuffer
	done      chan error
}

func dfctlAsync(t *testing.T, args ...string) *running {
	t.Helper()
	r := &running{done: make(chan error, 1)}
	cmd := newRootCmd(&r.out, &r.errb)
	cmd.SetArgs(args)
	go func() { r.done <- cmd.ExecuteContext(context.Background()) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		case <-time.After(2 * waitLong):
			t.Error("dfctl did not stop")
		}
	})
	return r
}

// wait returns the command's error once it ends.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(waitLong):
		t.Fatalf("dfctl still running; stderr:\n%s", r.errb.String())
		return nil
	}
}

// bindPub binds a zmq PUB on uri and registers it with role.
func bindPub(t *testing.T, ep, id, role, uri string) *zmq.Publisher {
	t.Helper()
	p, err := zmq.New().NewPublisher(context.Background(), pubsub.PublisherConfig{
		ID: id, Epoch: pubsub.NewEpoch(), Role: role, ListenURI: uri,
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	register(t, openNB(t, ep), id, role, p.Info().URI, 5*time.Second)
	return p.(*zmq.Publisher)
}

// waitSubscribed waits until a publisher (its counters) has a subscriber
// of topic.
func waitSubscribed(t *testing.T, stats func() zmq.PublisherStats, topic string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, c := range stats().Conns {
			for _, s := range c.Subscriptions {
				if s == topic {
					return true
				}
			}
		}
		return false
	}, waitLong, 5*time.Millisecond)
}

func pubEvents(t *testing.T, p pubsub.Publisher, prefix string, n int) {
	t.Helper()
	for i := range n {
		require.NoError(t, p.Publish(context.Background(), model.DbUpdate{
			Table: "lport", Key: fmt.Sprintf("%s-%d", prefix, i), Action: model.ActionUpdate, Value: []byte("ACTIVE"), Topic: "D",
		}))
	}
}

// TestEventsTailFollowsRoles: events tail connects to the publishers of the
// role it follows only, and prints each event as a JSON line with the
// publisher id, role and seq, then a summary.
func TestEventsTailFollowsRoles(t *testing.T) {
	ep := startNB(t)
	lc := bindPub(t, ep, "lc-pub", model.RoleLocalController, "tcp://127.0.0.1:0")
	ns := bindPub(t, ep, "ns-pub", model.RoleNeutronServer, "tcp://127.0.0.1:0")
	r := dfctlAsync(t, "--remote-db-hosts", ep, "events", "tail", "--role", "local-controller",
		"--count", "3", "--json", "--timeout", "20s")
	waitSubscribed(t, lc.Stats, "D")
	require.Zero(t, ns.Subscribers(), "a neutron-server publisher is not followed")
	pubEvents(t, ns, "ns", 2)
	pubEvents(t, lc, "lc", 3)
	require.NoError(t, r.wait(t), r.errb.String())

	dec := json.NewDecoder(strings.NewReader(r.out.String()))
	for i := range 3 {
		var line eventLine
		require.NoError(t, dec.Decode(&line))
		require.Equal(t, eventLine{Publisher: "lc-pub", Role: model.RoleLocalController, Epoch: lc.Info().Epoch,
			Seq: uint64(i + 1), Topic: "D", Table: "lport", Key: fmt.Sprintf("lc-%d", i), Action: "update",
			Value: ptr("ACTIVE")}, line)
	}
	var sum summary
	require.NoError(t, dec.Decode(&sum))
	require.Equal(t, 3, sum.Received)
	require.True(t, sum.Complete)
	require.Empty(t, sum.Gaps)
	require.Contains(t, r.errb.String(), "following 1 publisher(s) of role local-controller")
	require.ErrorIs(t, dec.Decode(&sum), io.EOF)
}

// TestEventsTailReportsGaps: a publisher that restarts behind the same
// registration makes the tail report the reconnect (and the new epoch) on
// stderr; events are printed with publisher id and seq.
func TestEventsTailReportsGaps(t *testing.T) {
	ep := startNB(t)
	p1, err := zmq.New().NewPublisher(context.Background(), pubsub.PublisherConfig{ID: "lc-pub", Epoch: 1, ListenURI: "tcp://127.0.0.1:0"})
	require.NoError(t, err)
	uri := p1.Info().URI
	register(t, openNB(t, ep), "lc-pub", model.RoleLocalController, uri, 5*time.Second)
	r := dfctlAsync(t, "--remote-db-hosts", ep, "events", "tail", "--role", "local-controller", "--count", "2")
	waitSubscribed(t, p1.(*zmq.Publisher).Stats, "D")
	pubEvents(t, p1, "before", 1)
	require.Eventually(t, func() bool { return strings.Contains(r.out.String(), "before-0") }, waitLong, 5*time.Millisecond)
	require.NoError(t, p1.Close())

	p2, err := zmq.New().NewPublisher(context.Background(), pubsub.PublisherConfig{ID: "lc-pub", Epoch: 2, ListenURI: uri})
	require.NoError(t, err)
	defer p2.Close()
	waitSubscribed(t, p2.(*zmq.Publisher).Stats, "D")
	pubEvents(t, p2, "after", 1)
	require.NoError(t, r.wait(t), r.errb.String())
	require.Contains(t, r.out.String(), "D lport update before-0 pub=lc-pub epoch=1 seq=1 value=ACTIVE")
	require.Contains(t, r.out.String(), "D lport update after-0 pub=lc-pub epoch=2 seq=1 value=ACTIVE")
	require.Contains(t, r.errb.String(), "GAP gap(reconnect publisher=\"lc-pub\"")
	require.Contains(t, r.errb.String(), "GAP gap(epoch publisher=\"lc-pub\"")
}

func TestEventsTailRejectsUnknownRole(t *testing.T) {
	_, _, err := dfctl(t, "events", "tail", "--role", "publisher-service")
	require.ErrorContains(t, err, "--role")
}

func ptr(s string) *string { return &s }
