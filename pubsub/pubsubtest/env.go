package pubsubtest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// ProbeTable is the table of the suite's probe events (see the package
// documentation); everything else the suite publishes is a test event.
const ProbeTable = "pubsubtest.probe"

const (
	// waitTimeout bounds every wait for an event to arrive.
	waitTimeout = 10 * time.Second
	// caseTimeout bounds each case's context.
	caseTimeout = 60 * time.Second
	// probeFirst and probeMax bound how long a barrier waits for one probe
	// before it sends the next.
	probeFirst = 10 * time.Millisecond
	probeMax   = 200 * time.Millisecond
)

// env is one case: the harness plus names unique to the case (so broker
// drivers may share a server between cases).
type env struct {
	t      *testing.T
	h      Harness
	ctx    context.Context
	log    *slog.Logger
	nonce  string
	probes atomic.Int64
}

func newEnv(t *testing.T, h Harness) *env {
	require.NotNil(t, h.Driver, "Harness.Driver")
	ctx, cancel := context.WithTimeout(t.Context(), caseTimeout)
	t.Cleanup(cancel)
	log := h.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Lower-case hex after a "t": no suite topic starts with model.DefaultTopic.
	return &env{t: t, h: h, ctx: ctx, log: log, nonce: fmt.Sprintf("%08x", rand.Uint32())}
}

// topic returns a topic name unique to the case.
func (e *env) topic(name string) string { return "t" + e.nonce + "." + name }

// pub is a publisher with the config it was built from.
type pub struct {
	pubsub.Publisher
	cfg  pubsub.PublisherConfig
	info pubsub.Info
}

// publisher starts a publisher named name (its id is unique to the case);
// opts adjust its config.
func (e *env) publisher(name string, opts ...func(*pubsub.PublisherConfig)) *pub {
	id := "pubsubtest-" + e.nonce + "-" + name
	var cfg pubsub.PublisherConfig
	if e.h.PublisherConfig != nil {
		cfg = e.h.PublisherConfig(e.t, id)
	}
	cfg.ID, cfg.Epoch, cfg.WireMode = id, pubsub.NewEpoch(), model.WireV2
	if cfg.Role == "" {
		cfg.Role = "pubsubtest"
	}
	if cfg.Logger == nil {
		cfg.Logger = e.log
	}
	for _, o := range opts {
		o(&cfg)
	}
	return e.start(cfg)
}

func (e *env) start(cfg pubsub.PublisherConfig) *pub {
	e.t.Helper()
	p, err := e.h.Driver.NewPublisher(e.ctx, cfg)
	require.NoError(e.t, err, "NewPublisher %s", cfg.ID)
	e.t.Cleanup(func() { assert.NoError(e.t, p.Close(), "closing publisher %s", cfg.ID) })
	info := p.Info()
	require.Equal(e.t, cfg.ID, info.ID, "Info().ID")
	require.Equal(e.t, cfg.Epoch, info.Epoch, "Info().Epoch")
	if cfg.ListenURI != "" {
		require.NotEmpty(e.t, info.URI, "Info().URI of a publisher with a ListenURI")
	}
	return &pub{Publisher: p, cfg: cfg, info: info}
}

// restart closes p and starts its next incarnation: same id and config, next
// epoch, and the URI p resolved as its ListenURI.
func (e *env) restart(p *pub) *pub {
	e.t.Helper()
	require.NoError(e.t, p.Close(), "closing publisher %s", p.info.ID)
	cfg := p.cfg
	cfg.Epoch = p.info.Epoch + 1
	if cfg.ListenURI != "" {
		cfg.ListenURI = p.info.URI
	}
	return e.start(cfg)
}

func (e *env) publish(p *pub, us ...model.DbUpdate) {
	e.t.Helper()
	for i, u := range us {
		require.NoError(e.t, p.Publish(e.ctx, u), "publish %d of %d as %s", i+1, len(us), p.info.ID)
	}
}

// sub is a subscriber recording into a sink.
type sub struct {
	pubsub.Subscriber
	*sink
}

type subOptions struct {
	topics    []string
	queueSize int
	hook      func(pubsub.Event)
}

// subscriber starts a subscriber and registers pubs with it.
func (e *env) subscriber(o subOptions, pubs ...*pub) *sub {
	e.t.Helper()
	sk := newSink()
	sk.hook = o.hook
	s, err := e.h.Driver.NewSubscriber(e.ctx, pubsub.SubscriberConfig{
		OnEvent: sk.onEvent, OnGap: sk.onGap, Topics: o.topics, QueueSize: o.queueSize,
		Hosts: e.h.SubscriberHosts, Logger: e.log,
	})
	require.NoError(e.t, err, "NewSubscriber")
	e.t.Cleanup(func() {
		assert.NoError(e.t, s.Close(), "closing subscriber")
		sk.closed.Store(true)
		assert.Zero(e.t, sk.late.Load(), "callbacks after Close returned")
	})
	sb := &sub{Subscriber: s, sink: sk}
	for _, p := range pubs {
		e.connect(sb, p, p.info.URI)
	}
	return sb
}

// connect registers p with s at uri.
func (e *env) connect(s *sub, p *pub, uri string) {
	e.t.Helper()
	ep := pubsub.Endpoint{PublisherID: p.info.ID, URI: uri, Role: p.cfg.Role}
	require.NoError(e.t, s.RegisterPublisher(ep), "RegisterPublisher %+v", ep)
}

// pair starts publisher "p" and a subscriber of topic "a" (plus o.topics)
// registered with it.
func (e *env) pair(o subOptions) (*pub, string, *sub) {
	p, topic := e.publisher("p"), e.topic("a")
	o.topics = append(o.topics, topic)
	return p, topic, e.subscriber(o, p)
}

// send publishes want from p on topic after barrier from and ends the run
// with a barrier; requireRun checks the returned run once s is closed.
func (e *env) send(s *sub, p *pub, topic string, from mark, want []model.DbUpdate) run {
	e.t.Helper()
	e.publish(p, want...)
	return run{p: p, endpoint: p.info.URI, topic: topic, from: from, to: e.barrier(s, p, topic), want: want}
}

// close closes s, checks the close contract and returns everything s
// recorded.
func (e *env) close(s *sub) []entry {
	e.t.Helper()
	require.NoError(e.t, s.Close(), "Close")
	s.closed.Store(true)
	select {
	case <-s.Done():
	default:
		require.Fail(e.t, "Done is not closed after Close returned")
	}
	require.NoError(e.t, s.Err(), "Err after a clean Close")
	return s.snapshot()
}

// mark is a barrier's probe as recorded: its position in the sink and seq.
type mark struct {
	pos int
	seq uint64
}

// barrier publishes probes from p on topic until the one just sent arrives
// at s (see the package documentation) and returns it. Gaps and lost probes
// before it are tolerated: a barrier is how a path is established.
func (e *env) barrier(s *sub, p *pub, topic string) mark {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	wait := probeFirst
	for {
		key := fmt.Sprintf("probe-%s-%d", e.nonce, e.probes.Add(1))
		from := len(s.snapshot())
		e.publish(p, model.DbUpdate{Table: ProbeTable, Key: key, Action: model.ActionLog, Topic: topic})
		i := s.waitFor(wait, s.Done(), from, func(_ int, en entry) bool {
			return en.ev != nil && en.ev.Update.Table == ProbeTable && en.ev.Update.Key == key &&
				en.ev.Meta.PublisherID == p.info.ID
		})
		if i >= 0 {
			return mark{pos: i, seq: s.snapshot()[i].ev.Meta.Seq}
		}
		select {
		case <-s.Done():
			require.FailNow(e.t, "subscriber stopped", "Err: %v", s.Err())
		default:
		}
		if time.Now().After(deadline) {
			require.FailNow(e.t, "barrier timed out",
				"no probe from %s (epoch %d) on topic %q arrived within %v", p.info.ID, p.info.Epoch, topic, waitTimeout)
		}
		wait = min(2*wait, probeMax)
	}
}

// updates returns n test events on topic, of every action and several value
// sizes (fixstr, str8, str16 and one str32), with keys tag-0, tag-1, ...
// (log events carry the key in their value, as their key travels as nil).
func updates(tag string, n int, topic string) []model.DbUpdate {
	us := make([]model.DbUpdate, n)
	for i := range us {
		key := fmt.Sprintf("%s-%d", tag, i)
		obj := []byte(fmt.Sprintf(`{"id":%q,"name":"port-é-%d","topic":%q}`, key, i, topic))
		switch i % 6 {
		case 0:
			us[i] = model.DbUpdate{Table: model.TableLogicalPort, Key: key, Action: model.ActionCreate, Value: obj}
		case 1:
			us[i] = model.DbUpdate{Table: model.TableLogicalSwitch, Key: key, Action: model.ActionSet, Value: obj}
		case 2:
			us[i] = model.DbUpdate{Table: model.TableSubnet, Key: key, Action: model.ActionDelete}
		case 3:
			us[i] = model.DbUpdate{Table: model.TableLogicalPort, Key: key, Action: model.ActionUpdate, Value: []byte("ACTIVE")}
		case 4:
			us[i] = model.DbUpdate{Table: model.TableChassis, Action: model.ActionLog, Value: []byte("log " + key)}
		default:
			size := 300
			if i == 5 {
				size = 70_000
			}
			us[i] = model.DbUpdate{Table: model.TableActivePort, Key: key, Action: model.ActionCreate,
				Value: []byte(strings.Repeat("v", size))}
		}
		us[i].Topic = topic
	}
	return us
}
