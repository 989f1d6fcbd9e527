package redistest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// slots is the number of Redis Cluster hash slots.
const slots = 16384

// Cluster is a Redis Cluster of masters only (no replicas), each on its
// own free loopback port (bus port + 10000).
type Cluster struct {
	Nodes []*Server
}

// Hosts are the nodes' "127.0.0.1:port" addresses.
func (c *Cluster) Hosts() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// Stop stops every node. Idempotent.
func (c *Cluster) Stop() error {
	var errs []error
	for _, n := range c.Nodes {
		errs = append(errs, n.Stop())
	}
	return errors.Join(errs...)
}

// StartCluster starts a cluster of n masters for the test and stops it at
// cleanup. See StartClusterIn.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	bin := Binary(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*StartTimeout)
	defer cancel()
	c, err := StartClusterIn(ctx, bin, tb.TempDir(), n)
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Errorf("redistest: stop cluster: %v", err)
		}
	})
	return c
}

// StartClusterIn starts n cluster-enabled nodes with their files under
// dir, splits the slots evenly among them (CLUSTER ADDSLOTSRANGE), gives
// each its own config epoch, introduces them (CLUSTER MEET) and waits
// until every node reports cluster_state:ok, knows all n nodes and sees all
// slots assigned: what `redis-cli --cluster create` does, without its
// one-second sleeps. On failure the nodes are stopped.
func StartClusterIn(ctx context.Context, bin, dir string, n int) (c *Cluster, err error) {
	if n < 1 {
		return nil, fmt.Errorf("redistest: cluster of %d nodes", n)
	}
	c = &Cluster{}
	defer func() {
		if err != nil {
			_ = c.Stop()
		}
	}()
	for i := range n {
		nd := filepath.Join(dir, "node-"+strconv.Itoa(i))
		if err := os.MkdirAll(nd, 0o700); err != nil {
			return nil, fmt.Errorf("redistest: %w", err)
		}
		s, err := StartConfig(bin, Config{Dir: nd, Cluster: true})
		if err != nil {
			return nil, err
		}
		c.Nodes = append(c.Nodes, s)
	}

	clients := make([]*goredis.Client, n)
	for i, s := range c.Nodes {
		clients[i] = AdminClient(s.Addr())
		defer clients[i].Close()
	}
	for i, cli := range clients {
		lo := i * slots / n
		hi := (i+1)*slots/n - 1
		if err := cli.Do(ctx, "cluster", "addslotsrange", lo, hi).Err(); err != nil {
			return nil, fmt.Errorf("redistest: node %s: cluster addslotsrange %d %d: %w", c.Nodes[i].Addr(), lo, hi, err)
		}
		if err := cli.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			return nil, fmt.Errorf("redistest: node %s: cluster set-config-epoch: %w", c.Nodes[i].Addr(), err)
		}
	}
	for _, s := range c.Nodes[1:] {
		if err := clients[0].Do(ctx, "cluster", "meet", "127.0.0.1", s.Port()).Err(); err != nil {
			return nil, fmt.Errorf("redistest: cluster meet %s: %w", s.Addr(), err)
		}
	}
	for {
		ready := 0
		var why string
		for i, cli := range clients {
			info, err := cli.Do(ctx, "cluster", "info").Text()
			if err != nil {
				why = fmt.Sprintf("node %s: %v", c.Nodes[i].Addr(), err)
				continue
			}
			f := parseInfo(info)
			if f["cluster_state"] == "ok" && f["cluster_known_nodes"] == strconv.Itoa(n) &&
				f["cluster_slots_assigned"] == strconv.Itoa(slots) {
				ready++
			} else {
				why = fmt.Sprintf("node %s: state %s, known nodes %s, slots assigned %s", c.Nodes[i].Addr(),
					f["cluster_state"], f["cluster_known_nodes"], f["cluster_slots_assigned"])
			}
		}
		if ready == n {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redistest: cluster not ready: %s: %w", why, ctx.Err())
		case <-time.After(20 * time.Millisecond): // polling a condition: the cluster converging
		}
	}
}

// AdminClient is a plain RESP2 client of one server for test set-up (no
// CLIENT SETINFO, no maintenance notifications: Redis 7.0 knows neither).
func AdminClient(addr string) *goredis.Client {
	return goredis.NewClient(&goredis.Options{
		Addr:                     addr,
		Protocol:                 2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
}

// parseInfo reads "field:value" lines of INFO / CLUSTER INFO.
func parseInfo(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}
