package bench

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// fakeDriverName is a minimal pubsub.Driver over the reference's own fan-out
// (v2 bodies, pubsub.Sequencer and Tracker), registered in every test binary
// so the RSS child, a re-executed test binary, finds it too. It serves one
// publisher per subscriber and delivers every topic.
const fakeDriverName = "benchfake"

func init() { pubsub.Register(fakeDriverName, fakeDriver{}) }

type fakeDriver struct{}

func (fakeDriver) NewPublisher(_ context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	f, err := listenFanout(strings.TrimPrefix(cfg.ListenURI, "tcp://"))
	if err != nil {
		return nil, err
	}
	return &fakePublisher{fan: f, seq: pubsub.NewSequencer(cfg.ID, cfg.Epoch),
		info: pubsub.Info{ID: cfg.ID, Epoch: cfg.Epoch, URI: "tcp://" + f.Addr()}}, nil
}

func (fakeDriver) NewSubscriber(_ context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	return &fakeSubscriber{cfg: cfg, done: make(chan struct{})}, nil
}

type fakePublisher struct {
	fan  *fanout
	info pubsub.Info
	mu   sync.Mutex // stamps and sends in one order
	seq  *pubsub.Sequencer
}

func (p *fakePublisher) Publish(ctx context.Context, u model.DbUpdate) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fan.Send(ctx, model.EncodeBody(u, p.seq.Stamp(u.TopicOrDefault()), model.WireV2))
}

func (p *fakePublisher) Info() pubsub.Info { return p.info }
func (p *fakePublisher) Close() error      { return p.fan.Close() }

type fakeSubscriber struct {
	cfg    pubsub.SubscriberConfig
	mu     sync.Mutex
	reader *connReader
	topics []string
	done   chan struct{}
	once   sync.Once
	err    error
}

func (s *fakeSubscriber) RegisterTopic(topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.topics = append(s.topics, topic)
	return nil
}

func (s *fakeSubscriber) UnregisterTopic(string) error { return nil }

func (s *fakeSubscriber) RegisterPublisher(ep pubsub.Endpoint) error {
	tracker := pubsub.NewTracker()
	r, err := dialReader(context.Background(), strings.TrimPrefix(ep.URI, "tcp://"), func(b []byte) error {
		u, m, err := model.DecodeBody(b)
		if err != nil {
			return err
		}
		gap, isGap, deliver := tracker.Observe(m, u.TopicOrDefault())
		if isGap {
			s.cfg.OnGap(gap)
		}
		if deliver {
			s.cfg.OnEvent(pubsub.Event{Update: u, Meta: m, Endpoint: ep.URI})
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reader != nil {
		return errors.New("fake: one publisher only")
	}
	s.reader = r
	return nil
}

func (s *fakeSubscriber) UnregisterPublisher(string) error { return pubsub.ErrUnknownPublisher }
func (s *fakeSubscriber) Topics() []string                 { return s.topics }
func (s *fakeSubscriber) Done() <-chan struct{}            { return s.done }
func (s *fakeSubscriber) Err() error                       { return nil }

func (s *fakeSubscriber) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		r := s.reader
		s.mu.Unlock()
		if r != nil {
			s.err = r.Close()
		}
		close(s.done)
	})
	return s.err
}
