package pubsubtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
	"github.com/dragonflow-go/dragonflow/pubsub/memory"
	"github.com/dragonflow-go/dragonflow/pubsub/pubsubtest"
)

// mutantEnv names the mutant TestMutant runs the suite against; it is set
// only in the subprocesses TestSuiteCatchesMutants starts.
const mutantEnv = "PUBSUBTEST_MUTANT"

// A mutant is the memory driver with one bug. TestSuiteCatchesMutants checks
// that every case listed in fail fails against it, so each case is shown to
// be able to fail.
type mutant struct {
	fail    []string
	harness func(*pubsubtest.Harness)
	config  func(*pubsub.SubscriberConfig)
	sub     func(pubsub.Subscriber) pubsub.Subscriber
	pub     func(pubsub.Publisher) pubsub.Publisher
}

var mutants = map[string]mutant{
	"none": {},
	"silent-loss": {fail: []string{"ExactCount"}, config: func(c *pubsub.SubscriberConfig) {
		c.OnEvent = everyNth(37, c.OnEvent, func(pubsub.Event) {})
	}},
	"duplicates": {fail: []string{"ExactCount", "DedupByPublisherID"}, config: func(c *pubsub.SubscriberConfig) {
		on := c.OnEvent
		c.OnEvent = everyNth(50, on, func(ev pubsub.Event) { on(ev); on(ev) })
	}},
	"corrupt-body": {fail: []string{"ExactCount", "TwoPublishers"}, config: func(c *pubsub.SubscriberConfig) {
		on := c.OnEvent
		c.OnEvent = func(ev pubsub.Event) {
			if ev.Update.Table != pubsubtest.ProbeTable && ev.Update.Value != nil {
				ev.Update.Value = append(ev.Update.Value, '!')
			}
			on(ev)
		}
	}},
	"wrong-endpoint": {fail: []string{"ExactCount"}, config: func(c *pubsub.SubscriberConfig) {
		on := c.OnEvent
		c.OnEvent = func(ev pubsub.Event) { ev.Endpoint = "tcp://elsewhere:1"; on(ev) }
	}},
	"reorder": {fail: []string{"ExactCount", "OrderAcrossTopics"}, config: func(c *pubsub.SubscriberConfig) {
		on := c.OnEvent
		var held *pubsub.Event
		c.OnEvent = func(ev pubsub.Event) {
			if held == nil && ev.Update.Table != pubsubtest.ProbeTable {
				held = &ev
				return
			}
			on(ev)
			if held != nil {
				on(*held)
				held = nil
			}
		}
	}},
	"false-gap": {fail: []string{"ExactCount", "NoFalseGapOnTopicSubset", "RegisterUnregisterTopic"}, config: func(c *pubsub.SubscriberConfig) {
		on, onGap := c.OnEvent, c.OnGap
		c.OnEvent = everyNth(10, on, func(ev pubsub.Event) {
			onGap(pubsub.Gap{Reason: pubsub.GapSeq, PublisherID: ev.Meta.PublisherID, Topic: ev.Update.TopicOrDefault()})
			on(ev)
		})
	}},
	"no-topic-filter": {fail: []string{"TopicFiltering", "NoFalseGapOnTopicSubset"}, config: func(c *pubsub.SubscriberConfig) {
		c.Topics = append(c.Topics, "")
	}},
	"prefix-claimed-exact": {fail: []string{"TopicFiltering"}, harness: func(h *pubsubtest.Harness) {
		h.PrefixTopics = false
	}},
	"swallow-gaps": {fail: []string{"OverflowReported", "PublisherRestartEpoch"}, config: func(c *pubsub.SubscriberConfig) {
		c.OnGap = func(pubsub.Gap) {}
	}},
	"unbounded-queue": {fail: []string{"OverflowReported"}, config: func(c *pubsub.SubscriberConfig) {
		c.QueueSize = 1 << 20
	}},
	"sticky-topic": {fail: []string{"RegisterUnregisterTopic"}, sub: func(s pubsub.Subscriber) pubsub.Subscriber {
		return &stickyTopics{Subscriber: s}
	}},
	"sticky-publisher": {fail: []string{"UnregisterPublisher"}, sub: func(s pubsub.Subscriber) pubsub.Subscriber {
		return &stickyPublishers{Subscriber: s, eps: map[string]pubsub.Endpoint{}, gone: map[string]bool{}}
	}},
	"close-does-not-wait": {fail: []string{"CloseWaitsForCallbacks"}, sub: func(s pubsub.Subscriber) pubsub.Subscriber {
		return &asyncClose{Subscriber: s}
	}},
	"publish-after-close": {fail: []string{"CloseIdempotent"}, pub: func(p pubsub.Publisher) pubsub.Publisher {
		return &openAfterClose{Publisher: p}
	}},
	"goroutine-leak": {fail: []string{"ExactCount"}, sub: func(s pubsub.Subscriber) pubsub.Subscriber {
		go func() { <-leaked }()
		return s
	}},
}

var leaked = make(chan struct{}) // never closed

// everyNth calls alt instead of on for every nth event that is not a probe.
func everyNth(n int, on, alt func(pubsub.Event)) func(pubsub.Event) {
	count := 0
	return func(ev pubsub.Event) {
		if ev.Update.Table == pubsubtest.ProbeTable {
			on(ev)
			return
		}
		if count++; count%n == 0 {
			alt(ev)
			return
		}
		on(ev)
	}
}

// TestSuiteCatchesMutants runs TestMutant in a subprocess per mutant and
// checks that exactly the mutant's listed cases are among the failures
// ("none" must pass every case).
func TestSuiteCatchesMutants(t *testing.T) {
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			run := "^TestMutant$"
			if len(m.fail) > 0 {
				run += "/^(" + strings.Join(m.fail, "|") + ")$"
			}
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run="+run, "-test.count=1", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if len(m.fail) == 0 {
				require.NoError(t, err, "the unmutated wrapper must pass:\n%s", out)
				return
			}
			require.Error(t, err, "mutant %s passed the suite:\n%s", name, out)
			for _, c := range m.fail {
				require.Contains(t, string(out), "--- FAIL: TestMutant/"+c+" ", "case %s did not catch mutant %s:\n%s", c, name, out)
			}
		})
	}
}

// TestMutant is the subprocess entry point of TestSuiteCatchesMutants; run
// directly (no PUBSUBTEST_MUTANT) it does nothing.
func TestMutant(t *testing.T) {
	name := os.Getenv(mutantEnv)
	if name == "" {
		return
	}
	m, ok := mutants[name]
	require.True(t, ok, "unknown mutant %q", name)
	pubsubtest.Run(t, func(t *testing.T) pubsubtest.Harness {
		h := pubsubtest.Harness{Driver: &mutantDriver{inner: memory.NewHub().Driver(), m: m}, PrefixTopics: true}
		if m.harness != nil {
			m.harness(&h)
		}
		return h
	})
}

type mutantDriver struct {
	inner pubsub.Driver
	m     mutant
}

func (d *mutantDriver) NewPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	p, err := d.inner.NewPublisher(ctx, cfg)
	if err != nil || d.m.pub == nil {
		return p, err
	}
	return d.m.pub(p), nil
}

func (d *mutantDriver) NewSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	if d.m.config != nil {
		d.m.config(&cfg)
	}
	s, err := d.inner.NewSubscriber(ctx, cfg)
	if err != nil || d.m.sub == nil {
		return s, err
	}
	return d.m.sub(s), nil
}

// stickyTopics ignores UnregisterTopic but reports the topic as gone.
type stickyTopics struct {
	pubsub.Subscriber
	mu   sync.Mutex
	gone []string
}

func (s *stickyTopics) UnregisterTopic(topic string) error {
	s.mu.Lock()
	s.gone = append(s.gone, topic)
	s.mu.Unlock()
	return nil
}

func (s *stickyTopics) RegisterTopic(topic string) error {
	s.mu.Lock()
	s.gone = slicesDelete(s.gone, topic)
	s.mu.Unlock()
	return s.Subscriber.RegisterTopic(topic)
}

func (s *stickyTopics) Topics() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, t := range s.Subscriber.Topics() {
		if !contains(s.gone, t) {
			out = append(out, t)
		}
	}
	return out
}

// stickyPublishers answers UnregisterPublisher as if it worked but keeps
// the publisher registered.
type stickyPublishers struct {
	pubsub.Subscriber
	mu   sync.Mutex
	eps  map[string]pubsub.Endpoint
	gone map[string]bool
}

func (s *stickyPublishers) RegisterPublisher(ep pubsub.Endpoint) error {
	s.mu.Lock()
	s.eps[ep.PublisherID] = ep
	delete(s.gone, ep.PublisherID)
	s.mu.Unlock()
	return s.Subscriber.RegisterPublisher(ep)
}

func (s *stickyPublishers) UnregisterPublisher(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.eps[id]; !known || s.gone[id] {
		return fmt.Errorf("sticky: %w", pubsub.ErrUnknownPublisher)
	}
	s.gone[id] = true
	return nil
}

// asyncClose returns from Close before the subscriber has stopped.
type asyncClose struct {
	pubsub.Subscriber
	once sync.Once
}

func (s *asyncClose) Close() error {
	s.once.Do(func() { go func() { _ = s.Subscriber.Close() }() })
	return nil
}

// openAfterClose accepts Publish after Close.
type openAfterClose struct {
	pubsub.Publisher
}

func (p *openAfterClose) Publish(ctx context.Context, u model.DbUpdate) error {
	if err := p.Publisher.Publish(ctx, u); err != nil && !strings.Contains(err.Error(), "closed") {
		return err
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func slicesDelete(list []string, s string) []string {
	out := list[:0]
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}
