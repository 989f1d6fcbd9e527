// Package etcd is a broker pubsub.Driver on etcd v3, registered as "etcd",
// with Dragonflow's key layout: topic T is the key "/pubsub/" + T, and
// publishing an event is a Put of its msgpack body on that key, so every
// event of a topic is one revision of one key.
//
// Subscribers watch each registered topic's key from a revision and
// remember the last revision they received, so a broken watch resumes
// where it stopped: nothing is missed and no gap is reported when nothing
// was lost (Dragonflow's etcd subscriber never recovered, reference §5.2
// item 12). History compacted away before it was read is reported as a gap
// of that topic. Events of the topics are merged back into revision order,
// so one publisher's events arrive in the order it sent them, across
// topics. See README.md.
package etcd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	nbetcd "github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() { pubsub.Register("etcd", NewDriver()) }

// KeyPrefix is the prefix of every topic key (Dragonflow's, reference
// §3.4); the NB DB driver reserves it (no table is named "pubsub").
const KeyPrefix = "/pubsub/"

// Key returns the etcd key of topic.
func Key(topic string) string { return KeyPrefix + topic }

// Scheme is the scheme of the URI a publisher advertises.
const Scheme = "etcd://"

// Driver builds etcd publishers and subscribers. Each publisher and each
// subscriber has its own etcd client (connection), made by nb/etcd.New from
// the config's Hosts.
type Driver struct{}

var _ pubsub.Driver = (*Driver)(nil)

// NewDriver returns a driver.
func NewDriver() *Driver { return &Driver{} }

// NewPublisher implements pubsub.Driver; the result is a *Publisher.
func (d *Driver) NewPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	return newPublisher(ctx, cfg)
}

// NewSubscriber implements pubsub.Driver; the result is a *Subscriber.
func (d *Driver) NewSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	return newSubscriber(ctx, cfg)
}

// dial connects to the etcd cluster at hosts ([df] remote_db_hosts: the
// forms nb/etcd accepts, "host:port", "http://host:port",
// "unix:///abs/path"), with nb/etcd's client settings (logging bridged to
// log, capped reconnect backoff) and its connection check.
func dial(ctx context.Context, hosts []string, log *slog.Logger) (*nbetcd.Driver, error) {
	hosts = cleanHosts(hosts)
	if len(hosts) == 0 {
		return nil, errors.New("no hosts ([df] remote_db_hosts)")
	}
	db, err := nbetcd.New(ctx, nbetcd.Options{Endpoints: hosts, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("connect to %v: %w", hosts, err)
	}
	return db, nil
}

func cleanHosts(hosts []string) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// ClusterURI is the URI a publisher advertises: "etcd://" and the hosts,
// comma-separated, without an http(s):// scheme ("etcd://10.0.0.5:2379,
// 10.0.0.6:2379"; a socket stays "unix:///path"). It names the cluster in
// the publisher table; subscribers never connect by it.
func ClusterURI(hosts []string) string {
	hosts = cleanHosts(hosts)
	for i, h := range hosts {
		h = strings.TrimPrefix(h, "http://")
		hosts[i] = strings.TrimPrefix(h, "https://")
	}
	return Scheme + strings.Join(hosts, ",")
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// Retry delays of a watch that ended with an error (not a compaction).
const (
	retryMin = 50 * time.Millisecond
	retryMax = 2 * time.Second
)

// retryDelay is the wait before retry number attempt (1 for the first):
// retryMin doubled per attempt up to retryMax, jittered into [d/2, d] so
// subscribers that lost etcd together do not return in lockstep.
func retryDelay(attempt int) time.Duration {
	d := retryMin
	for i := 1; i < attempt && d < retryMax; i++ {
		d *= 2
	}
	d = min(d, retryMax)
	return d/2 + rand.N(d/2+1)
}
