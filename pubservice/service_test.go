package pubservice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/memory"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/zmq"
)

func newDB(t *testing.T) *memory.Driver {
	db := memory.New()
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// TestServiceRelaysWorkers: two workers push over ipc; the service
// publishes every event exactly once, on its body topic ("D" when it has
// none), in each worker's order, under its own id and consecutive seqs;
// it registered itself as neutron-server; the socket's directory was
// created with mode 0755.
func TestServiceRelaysWorkers(t *testing.T) {
	db := newDB(t)
	dir := t.TempDir()
	svc := startService(t, db, settings(t, dir))
	fi, err := os.Stat(filepath.Join(dir, "run"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm())

	kv, err := db.Get(t.Context(), model.TablePublisher, svc.Info().ID)
	require.NoError(t, err)
	var row model.Publisher
	require.NoError(t, json.Unmarshal(kv.Value, &row))
	assert.Equal(t, model.RoleNeutronServer, row.Role)
	assert.Equal(t, svc.Info().URI, row.URI)
	assert.Equal(t, svc.Lease(), kv.Lease)

	sk := subscribe(t, svc, "D", "tenant")
	d := fastZMQ()
	w1 := worker(t, d, "w1", svc.SocketURI(), time.Second)
	w2 := worker(t, d, "w2", svc.SocketURI(), time.Second)
	for i := range 100 {
		publish(t, w1, "D", fmt.Sprintf("w1-%d", i))
	}
	for i := range 50 {
		publish(t, w2, "tenant", fmt.Sprintf("w2-%d", i))
	}
	publish(t, w2, "", "w2-notopic")
	evs := sk.WaitN(t, waitFor, 151, ofTable("lswitch"))
	require.Len(t, evs, 151)
	all, _ := sk.Snapshot()
	last := map[string]uint64{}
	for _, ev := range all {
		require.Equal(t, svc.Info().ID, ev.Meta.PublisherID)
		topic := ev.Update.TopicOrDefault()
		if prev, ok := last[topic]; ok {
			require.Equal(t, prev+1, ev.Meta.Seq, "consecutive seqs per topic")
		}
		last[topic] = ev.Meta.Seq
	}
	var fromW1, fromW2 []pubsub.Event
	for _, ev := range evs {
		if ev.Update.Key[:2] == "w1" {
			fromW1 = append(fromW1, ev)
		} else {
			fromW2 = append(fromW2, ev)
		}
	}
	require.Len(t, fromW1, 100)
	for i, ev := range fromW1 {
		require.Equal(t, fmt.Sprintf("w1-%d", i), ev.Update.Key)
	}
	assert.Equal(t, "w2-notopic", fromW2[50].Update.Key)
	assert.Equal(t, model.DefaultTopic, fromW2[50].Update.Topic, "no body topic: relayed on D")
	st := svc.Stats()
	assert.Equal(t, uint64(151), st.Relayed)
	assert.Empty(t, st.Gaps)
	assert.Equal(t, 2, st.Origins)
	_, gaps := sk.Snapshot()
	assert.Empty(t, gaps)
}

// TestServiceRelaysTables: a chassis row written by someone else, and the
// row of a local controller that registers, reach a subscriber of the
// service within a second; so does their deletion.
func TestServiceRelaysTables(t *testing.T) {
	db := newDB(t)
	svc := startService(t, db, settings(t, t.TempDir()))
	sk := subscribe(t, svc, "D")

	began := time.Now()
	_, err := db.Put(t.Context(), model.TableChassis, "compute-1", []byte(`{"id":"compute-1","ip":"10.0.0.1"}`))
	require.NoError(t, err)
	ev := sk.WaitN(t, waitFor, 1, ofTable(model.TableChassis))[0]
	assert.Less(t, time.Since(began), time.Second)
	assert.Equal(t, model.DbUpdate{Table: model.TableChassis, Key: "compute-1", Action: model.ActionCreate,
		Value: []byte(`{"id":"compute-1","ip":"10.0.0.1"}`), Topic: "D"}, ev.Update)
	assert.Equal(t, svc.Info().ID, ev.Meta.PublisherID)

	reg, err := discovery.Register(t.Context(), db, discovery.PublisherInfo{
		ID: "lc-1", Role: model.RoleLocalController, URI: "tcp://127.0.0.1:8867",
	}, discovery.WithTTL(2*time.Second), discovery.WithTimestampRefresh(0))
	require.NoError(t, err)
	isLC := func(ev pubsub.Event) bool { return ev.Update.Table == model.TablePublisher && ev.Update.Key == "lc-1" }
	ev = sk.WaitN(t, waitFor, 1, isLC)[0]
	assert.Equal(t, model.ActionCreate, ev.Update.Action)
	assert.Contains(t, string(ev.Update.Value), `"role":"local-controller"`)
	require.NoError(t, reg.Close())
	ev = sk.WaitN(t, waitFor, 2, isLC)[1]
	assert.Equal(t, model.ActionDelete, ev.Update.Action)
	assert.Nil(t, ev.Update.Value)

	require.NoError(t, db.Delete(t.Context(), model.TableChassis, "compute-1", 0))
	ev = sk.WaitN(t, waitFor, 2, ofTable(model.TableChassis))[1]
	assert.Equal(t, model.ActionDelete, ev.Update.Action)
	assert.GreaterOrEqual(t, svc.Stats().TableEvents, uint64(4))
}

// stopService closes svc and waits until the worker has seen its PULL go.
func stopService(t *testing.T, svc *pubservice.Service, w *zmq.Pusher) {
	t.Helper()
	require.NoError(t, svc.Close())
	require.Eventually(t, func() bool { return w.Subscribers() == 0 }, waitFor, time.Millisecond)
}

// TestServiceLossOnWorkerHopIsNotSilent: a worker loses an event while no
// service listens (its queue is full: Publish times out); after a new
// service has started, the worker's next event reveals the missing seq and
// the service's subscriber receives a resync marker for that topic, before
// that event.
func TestServiceLossOnWorkerHopIsNotSilent(t *testing.T) {
	db := newDB(t)
	s := settings(t, t.TempDir())
	svc1 := startService(t, db, s)
	sk := &sink{}
	sub, err := fastZMQ().NewSubscriber(t.Context(), pubsub.SubscriberConfig{Topics: []string{"D"}, OnEvent: sk.OnEvent, OnGap: sk.OnGap})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sub.Close()) })
	disc, err := discovery.Discover(t.Context(), db, sub, []string{model.RoleNeutronServer})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, disc.Close()) })
	waitSubscribed(t, svc1, 1, "D")

	w := worker(t, fastZMQ(zmq.WithSendQueue(1), zmq.WithoutHeartbeats()), "w1", svc1.SocketURI(), 100*time.Millisecond)
	publish(t, w, "D", "e1")
	sk.WaitN(t, waitFor, 1, ofTable("lswitch"))

	stopService(t, svc1, w)
	publish(t, w, "D", "e2") // queued
	err = w.Publish(context.Background(), model.DbUpdate{Table: "lswitch", Key: "e3", Action: model.ActionCreate, Topic: "D"})
	require.ErrorIs(t, err, pubsub.ErrPublishTimeout, "e3 is lost: the queue is full and nobody listens")

	svc2 := startService(t, db, s)
	require.Eventually(t, func() bool { return svc2.Stats().Relayed == 1 }, waitFor, time.Millisecond, "e2 relayed by the new service")
	waitSubscribed(t, svc2, 1, "D")
	publish(t, w, "D", "e4")
	sk.WaitN(t, waitFor, 1, func(ev pubsub.Event) bool { return ev.Update.Key == "e4" })

	evs, _ := sk.Snapshot()
	var marker *pubservice.ResyncRequest
	for _, ev := range evs {
		if r, ok := pubservice.ParseResync(ev.Update); ok && r.Reason == pubsub.GapSeq {
			require.Equal(t, svc2.Info().ID, ev.Meta.PublisherID)
			marker = &r
		}
		if ev.Update.Key == "e4" {
			require.NotNil(t, marker, "the marker arrives before the event that revealed the loss")
		}
	}
	assert.Equal(t, pubservice.ResyncRequest{Topic: "D", Reason: pubsub.GapSeq, Origin: "w1",
		OriginEpoch: w.Info().Epoch, Expected: 3, Got: 4, Lost: 1, Service: svc2.Info().ID}, *marker)
	st := svc2.Stats()
	assert.Equal(t, uint64(1), st.Gaps[string(pubsub.GapSeq)])
	assert.Equal(t, uint64(1), st.Gaps[string(pubservice.FirstContact)], "e2 was the first event of w1 the new service saw")
	assert.Equal(t, uint64(1), w.Stats().Dropped)
}

// TestServiceTailLoss: the lost event is the last one the worker sends;
// its sequence heartbeat to the new service reveals it, and the service
// publishes a marker without waiting for another event.
func TestServiceTailLoss(t *testing.T) {
	db := newDB(t)
	s := settings(t, t.TempDir())
	svc1 := startService(t, db, s)
	w := worker(t, fastZMQ(zmq.WithSendQueue(1), zmq.WithHeartbeat(20*time.Millisecond)), "w1", svc1.SocketURI(), 100*time.Millisecond)
	publish(t, w, "D", "e1")
	require.Eventually(t, func() bool { return svc1.Stats().Relayed == 1 }, waitFor, time.Millisecond)
	stopService(t, svc1, w)
	publish(t, w, "D", "e2")
	require.ErrorIs(t, w.Publish(context.Background(), model.DbUpdate{Table: "x", Action: model.ActionLog}), pubsub.ErrPublishTimeout)

	svc2 := startService(t, db, s)
	require.Eventually(t, func() bool {
		st := svc2.Stats()
		return st.Gaps[string(pubsub.GapHeartbeat)] == 1 && st.Markers == 2 // first contact (e2), heartbeat (e3)
	}, waitFor, time.Millisecond)
	st := svc2.Stats()
	assert.Equal(t, uint64(1), st.LostReported)
}

// TestServiceClose: Close revokes the registration (the row goes at once),
// removes the socket file, closes Done; it is idempotent.
func TestServiceClose(t *testing.T) {
	db := newDB(t)
	s := settings(t, t.TempDir())
	svc := startService(t, db, s)
	id := svc.Info().ID
	_, err := os.Stat(s.MultiprocSocket)
	require.NoError(t, err)
	require.NoError(t, svc.Close())
	require.NoError(t, svc.Close())
	_, err = db.Get(t.Context(), model.TablePublisher, id)
	require.ErrorIs(t, err, nb.ErrNotFound)
	_, err = os.Stat(s.MultiprocSocket)
	require.ErrorIs(t, err, os.ErrNotExist)
	select {
	case <-svc.Done():
	default:
		t.Fatal("Done not closed")
	}
	require.NoError(t, svc.Err())
}

// TestServiceStopsWhenDBClosed: a closed NB DB driver stops the service on
// its own: Done closes and Err wraps nb.ErrClosed.
func TestServiceStopsWhenDBClosed(t *testing.T) {
	db := memory.New()
	svc, err := pubservice.New(t.Context(), pubservice.Config{DB: db, Settings: settings(t, t.TempDir()), PubSub: fastZMQ()})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	select {
	case <-svc.Done():
	case <-time.After(waitFor):
		t.Fatal("the service did not stop")
	}
	require.ErrorIs(t, svc.Err(), nb.ErrClosed)
	if err := svc.Close(); err != nil {
		require.ErrorIs(t, err, nb.ErrClosed, "only the revoke can fail")
	}
	require.ErrorIs(t, svc.Err(), nb.ErrClosed)
}

// TestServiceStartErrors: every start failure names the option to fix and
// leaves nothing behind.
func TestServiceStartErrors(t *testing.T) {
	db := newDB(t)
	newSvc := func(s config.RoleSettings) error {
		svc, err := pubservice.New(t.Context(), pubservice.Config{DB: db, Settings: s, PubSub: fastZMQ()})
		if err == nil {
			require.NoError(t, svc.Close())
		}
		return err
	}
	_, err := pubservice.New(t.Context(), pubservice.Config{})
	require.Error(t, err)

	t.Run("socket directory", func(t *testing.T) {
		s := settings(t, t.TempDir())
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		s.MultiprocSocket = filepath.Join(file, "publisher.sock")
		err := newSvc(s)
		require.ErrorContains(t, err, "[neutron] publisher_multiproc_socket")
		require.ErrorContains(t, err, "create its directory")
		s.MultiprocSocket = ""
		require.ErrorContains(t, newSvc(s), "[neutron] publisher_multiproc_socket is empty")
	})
	t.Run("socket in use", func(t *testing.T) {
		s := settings(t, t.TempDir())
		first := startService(t, db, s)
		err := newSvc(s)
		require.ErrorContains(t, err, "publisher_multiproc_socket")
		require.ErrorContains(t, err, "another publisher service")
		_, err = os.Stat(s.MultiprocSocket)
		require.NoError(t, err, "the running service keeps its socket")
		assert.Equal(t, 1, countRows(t, db), "only the running service is registered")
		_ = first
	})
	t.Run("port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		s := settings(t, t.TempDir())
		s.PublisherPort = l.Addr().(*net.TCPAddr).Port
		err = newSvc(s)
		require.ErrorContains(t, err, "publisher_port")
		require.ErrorContains(t, err, strconv.Itoa(s.PublisherPort))
		_, err = os.Stat(s.MultiprocSocket)
		require.ErrorIs(t, err, os.ErrNotExist, "no socket left behind")
	})
	t.Run("no advertise address", func(t *testing.T) {
		s := settings(t, t.TempDir())
		s.BindAddress, s.ManagementIP = "*", "0.0.0.0"
		require.ErrorIs(t, newSvc(s), config.ErrNoAdvertiseAddress)
	})
	t.Run("bad wire mode", func(t *testing.T) {
		s := settings(t, t.TempDir())
		s.WireMode = "v9"
		require.ErrorContains(t, newSvc(s), "wire_mode")
	})
	assert.Zero(t, countRows(t, db), "failed starts registered nothing")
}

func countRows(t *testing.T, db nb.Driver) int {
	kvs, _, err := db.List(t.Context(), model.TablePublisher, "")
	require.NoError(t, err)
	return len(kvs)
}

// TestServiceTailLossUnseenTopic: every event of a topic the worker sent
// while the service was down is lost and the worker sends nothing more on
// it; only its sequence heartbeat reaches the restarted service, which has
// never seen that topic. The service still publishes a marker for it
// (conservatively: it cannot know what its previous incarnation relayed).
func TestServiceTailLossUnseenTopic(t *testing.T) {
	db := newDB(t)
	s := settings(t, t.TempDir())
	svc1 := startService(t, db, s)
	w := worker(t, fastZMQ(zmq.WithSendQueue(1), zmq.WithHeartbeat(20*time.Millisecond)), "w1", svc1.SocketURI(), 100*time.Millisecond)
	publish(t, w, "T1", "e1")
	require.Eventually(t, func() bool { return svc1.Stats().Relayed == 1 }, waitFor, time.Millisecond)
	stopService(t, svc1, w)
	publish(t, w, "D", "x") // queued: reaches the new service
	err := w.Publish(context.Background(), model.DbUpdate{Table: "lswitch", Key: "e2", Action: model.ActionCreate, Topic: "T1"})
	require.ErrorIs(t, err, pubsub.ErrPublishTimeout, "e2 is lost")

	svc2 := startService(t, db, s)
	require.Eventually(t, func() bool {
		st := svc2.Stats()
		return st.Relayed == 1 && st.Gaps[string(pubsub.GapHeartbeat)] == 1 && st.Markers == 1
	}, waitFor, time.Millisecond, "the heartbeat's T1 seq reveals the loss")
}
