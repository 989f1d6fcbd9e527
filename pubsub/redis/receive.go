package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

var (
	errHealth = errors.New("redis: no answer to PING: connection considered lost")
	errKicked = errors.New("redis: session closed after a failed command")
)

// receive is the receive goroutine (see Subscriber). It ends when Close
// closes s.closing.
func (s *Subscriber) receive() {
	defer s.wg.Done()
	// lost is why the previous session ended (nil: no session ended since
	// the last report); reported as GapReconnect once a new one is up.
	var lost error
	attempt := 0
	for {
		ps, pending, err := s.openSession()
		if err == nil {
			err = s.serve(ps, pending, &lost, &attempt)
			s.closeSession(ps)
		}
		if s.stopping() {
			return
		}
		delay := s.backoff(attempt)
		attempt++
		if lost == nil {
			lost = err
			s.stats.reconnects.Add(1)
			s.log.Warn("redis: subscriber lost its connection; reconnecting",
				"broker", s.c.uri, "err", err, "retry_in", delay.Round(time.Millisecond))
		} else {
			s.log.Debug("redis: subscriber reconnect failed", "broker", s.c.uri, "err", err,
				"attempt", attempt, "retry_in", delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-s.closing:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (s *Subscriber) stopping() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// backoff is the jittered exponential delay before reconnect attempt n:
// ReconnectMin·2^n capped at ReconnectMax, then a random 50-100% of it.
func (s *Subscriber) backoff(n int) time.Duration {
	d := s.o.ReconnectMin << min(n, 20)
	if d <= 0 || d > s.o.ReconnectMax {
		d = s.o.ReconnectMax
	}
	return d/2 + rand.N(d/2+1)
}

// openSession connects a new PubSub (PING) and, under mu, subscribes it to
// the current topics and makes it the current session. It returns how
// many subscribe confirmations to wait for.
func (s *Subscriber) openSession() (*goredis.PubSub, int, error) {
	ctx, cancel := context.WithTimeout(s.life, s.o.DialTimeout)
	defer cancel()
	ps := s.c.uni.Subscribe(ctx) // no channel: no I/O yet
	if err := ps.Ping(ctx); err != nil {
		_ = ps.Close()
		return nil, 0, fmt.Errorf("connect: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = ps.Close()
		return nil, 0, fmt.Errorf("redis: subscriber: %w", pubsub.ErrClosed)
	}
	topics := slices.Collect(maps.Keys(*s.topics.Load()))
	if len(topics) > 0 {
		if err := ps.Subscribe(ctx, topics...); err != nil {
			_ = ps.Close()
			return nil, 0, fmt.Errorf("subscribe: %w", err)
		}
	}
	s.ps = ps
	return ps, len(topics), nil
}

// closeSession closes ps and, if it is still the current session, clears it.
func (s *Subscriber) closeSession(ps *goredis.PubSub) {
	s.mu.Lock()
	if s.ps == ps {
		s.ps = nil
	}
	s.mu.Unlock()
	_ = ps.Close()
}

// serve reads ps until it fails. The session is "up" once Redis has
// confirmed the initial subscriptions (or delivered a message): then a
// pending loss is reported and the backoff reset.
func (s *Subscriber) serve(ps *goredis.PubSub, pending int, lost *error, attempt *int) error {
	up := func() {
		if *lost != nil {
			s.q.Report(pubsub.Gap{Reason: pubsub.GapReconnect, Err: *lost})
			s.log.Info("redis: subscriber reconnected; reporting the gap", "broker", s.c.uri, "cause", *lost)
			*lost = nil
		}
		*attempt = 0
	}
	isUp := pending == 0
	if isUp {
		up()
	}
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(s.life, s.o.HealthCheckInterval)
		if err != nil {
			if s.stopping() {
				return pubsub.ErrClosed
			}
			if errors.Is(err, goredis.ErrClosed) {
				return errKicked
			}
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return err
			}
			if pinged {
				return errHealth
			}
			if err := ps.Ping(s.life); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind == "subscribe" && pending > 0 {
				pending--
				if pending == 0 && !isUp {
					isUp = true
					up()
				}
			}
		case *goredis.Message:
			if !isUp {
				isUp = true
				up()
			}
			s.handle(m)
		case *goredis.Pong:
		}
	}
}

// handle filters and decodes one message and offers it to the queue.
func (s *Subscriber) handle(m *goredis.Message) {
	topic := m.Channel
	if _, ok := (*s.topics.Load())[topic]; !ok {
		s.stats.filtered.Add(1)
		return
	}
	u, meta, err := model.DecodeBody([]byte(m.Payload))
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Warn("redis: dropping a message that does not decode", "topic", topic, "len", len(m.Payload), "err", err)
		s.q.Report(pubsub.Gap{Reason: pubsub.GapMalformed, Topic: topic, Err: err})
		return
	}
	if meta.PublisherID != "" {
		if _, ok := (*s.pubs.Load())[meta.PublisherID]; !ok {
			s.stats.filtered.Add(1)
			return
		}
	}
	s.q.Offer(event{ev: pubsub.Event{Update: u, Meta: meta}, topic: topic}, meta, topic)
}
