package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/dragonflow-go/dragonflow/pubsub"
)

func init() { pubsub.Register("redis", NewDriver(Options{})) }

// Mode says whether the hosts are a standalone server or a Redis Cluster.
type Mode string

// Modes.
const (
	// ModeAuto asks the first host that answers (INFO cluster).
	ModeAuto Mode = ""
	// ModeStandalone uses one server: the first of the hosts that answers.
	ModeStandalone Mode = "standalone"
	// ModeCluster treats the hosts as seeds of a Redis Cluster.
	ModeCluster Mode = "cluster"
)

// Defaults of Options.
const (
	DefaultDialTimeout         = 5 * time.Second
	DefaultHealthCheckInterval = 3 * time.Second
	DefaultReconnectMin        = 50 * time.Millisecond
	DefaultReconnectMax        = 2 * time.Second
)

// Options tunes the driver; zero values take the defaults.
type Options struct {
	Mode Mode
	// DialTimeout bounds one connection attempt (and the check that
	// NewPublisher/NewSubscriber make).
	DialTimeout time.Duration
	// HealthCheckInterval: a subscriber that has received nothing for this
	// long sends PING; no answer within another interval counts as a lost
	// connection (half-open TCP), and it reconnects.
	HealthCheckInterval time.Duration
	// ReconnectMin and ReconnectMax bound a subscriber's jittered
	// exponential reconnect backoff.
	ReconnectMin, ReconnectMax time.Duration
}

func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.HealthCheckInterval <= 0 {
		o.HealthCheckInterval = DefaultHealthCheckInterval
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = DefaultReconnectMin
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = max(DefaultReconnectMax, o.ReconnectMin)
	}
	return o
}

// Driver builds Redis publishers and subscribers. It holds no connection:
// each publisher and subscriber has its own client.
type Driver struct{ o Options }

var _ pubsub.Driver = (*Driver)(nil)

// NewDriver returns a driver with o.
func NewDriver(o Options) *Driver { return &Driver{o: o.withDefaults()} }

// NewPublisher implements pubsub.Driver.
func (d *Driver) NewPublisher(ctx context.Context, cfg pubsub.PublisherConfig) (pubsub.Publisher, error) {
	return newPublisher(ctx, d.o, cfg)
}

// NewSubscriber implements pubsub.Driver.
func (d *Driver) NewSubscriber(ctx context.Context, cfg pubsub.SubscriberConfig) (pubsub.Subscriber, error) {
	return newSubscriber(ctx, d.o, cfg)
}

// conn is one client of the broker: a standalone server or a cluster.
type conn struct {
	uni     goredis.UniversalClient
	cluster *goredis.ClusterClient // nil for a standalone server
	// uri names the broker: redis://host:port of the node that answered
	// first, or unix://path.
	uri string
}

func (c *conn) close() error {
	if err := c.uni.Close(); err != nil && !errors.Is(err, goredis.ErrClosed) {
		return err
	}
	return nil
}

// clientOptions returns the go-redis options for host: "host:port", or a
// redis://, rediss:// or unix:// URL (go-redis's ParseURL). RESP2, no
// CLIENT SETINFO, no maintenance notifications (Redis 7.0 knows neither),
// context deadlines applied to socket I/O.
func clientOptions(host string, o Options) (*goredis.Options, error) {
	var opt *goredis.Options
	if strings.Contains(host, "://") {
		var err error
		if opt, err = goredis.ParseURL(host); err != nil {
			return nil, fmt.Errorf("redis: host %q: %w", host, err)
		}
	} else {
		if _, _, err := net.SplitHostPort(host); err != nil {
			return nil, fmt.Errorf("redis: host %q: want host:port or a redis:// or unix:// URL: %w", host, err)
		}
		opt = &goredis.Options{Addr: host}
	}
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout = o.DialTimeout
	opt.DialerRetries = 1 // fail fast; reconnects and failover are the driver's (see the cluster options)
	return opt, nil
}

// brokerURI names the server opt points at.
func brokerURI(opt *goredis.Options) string {
	if opt.Network == "unix" {
		return "unix://" + opt.Addr
	}
	return "redis://" + opt.Addr
}

// dial connects to hosts ([df] remote_db_hosts) and checks the broker
// answers, within o.DialTimeout and ctx. In ModeAuto the first host that
// answers INFO says whether it is a cluster node.
func dial(ctx context.Context, hosts []string, o Options) (*conn, error) {
	if len(hosts) == 0 {
		return nil, errors.New("redis: no hosts ([df] remote_db_hosts)")
	}
	opts := make([]*goredis.Options, len(hosts))
	for i, h := range hosts {
		var err error
		if opts[i], err = clientOptions(h, o); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()

	var (
		errs  []error
		first int = -1
		mode      = o.Mode
	)
	for i, opt := range opts {
		cli := goredis.NewClient(opt)
		info, err := cli.Info(ctx, "cluster").Result()
		if err != nil {
			_ = cli.Close()
			errs = append(errs, fmt.Errorf("%s: %w", hosts[i], err))
			continue
		}
		cluster := strings.Contains(info, "cluster_enabled:1")
		if mode == ModeAuto {
			mode = ModeStandalone
			if cluster {
				mode = ModeCluster
			}
		}
		if mode == ModeStandalone {
			if cluster {
				_ = cli.Close()
				return nil, fmt.Errorf("redis: %s is a Redis Cluster node, but mode is standalone", hosts[i])
			}
			return &conn{uni: cli, uri: brokerURI(opt)}, nil
		}
		_ = cli.Close()
		first = i
		break
	}
	if first < 0 {
		return nil, fmt.Errorf("redis: no host answered: %w", errors.Join(errs...))
	}
	copt := &goredis.ClusterOptions{
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		ContextTimeoutEnabled:    true,
		DialTimeout:              o.DialTimeout,
		// One dial per attempt: go-redis would otherwise retry a dead node 5
		// times with backoff inside the publish bound, leaving no time to
		// fail over to a live master (the driver does its own failover).
		DialerRetries: 1,
		Username:      opts[first].Username,
		Password:      opts[first].Password,
		TLSConfig:     opts[first].TLSConfig,
	}
	for _, opt := range opts {
		if opt.Network == "unix" {
			return nil, fmt.Errorf("redis: cluster seed unix://%s: cluster nodes are reached over TCP", opt.Addr)
		}
		copt.Addrs = append(copt.Addrs, opt.Addr)
	}
	cc := goredis.NewClusterClient(copt)
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
		return c.Ping(ctx).Err()
	}); err != nil {
		_ = cc.Close()
		return nil, fmt.Errorf("redis: cluster %v: %w", hosts, err)
	}
	return &conn{uni: cc, cluster: cc, uri: brokerURI(opts[first])}, nil
}

// publisherURI is a publisher's Info().URI: the broker's URI with the
// publisher id, so that each publisher's row in the NB DB publisher table
// has its own uri (discovery de-duplicates rows by uri) and passes
// discovery.CheckURI. Subscribers never connect to it.
func publisherURI(broker, id string) string {
	if rest, ok := strings.CutPrefix(broker, "unix://"); ok {
		return "unix://" + rest + "?publisher=" + url.QueryEscape(id)
	}
	return broker + "/publisher/" + url.PathEscape(id)
}
