package controller

import (
	"fmt"
	"maps"
	"slices"
)

// topology is the controller's local ports and, with selective topology
// distribution, the tenant topics they make it follow (Dragonflow's
// topology.py topic_subscribed). Guarded by Controller.portMu.
type topology struct {
	local   map[string]string // local port id → its tenant (lport topic)
	tenants map[string]int    // tenant → number of local ports
}

func newTopology() topology {
	return topology{local: map[string]string{}, tenants: map[string]int{}}
}

// portUp makes port, of tenant, local. With selective topology the first
// local port of a tenant subscribes the tenant's topic and queues its
// sync; later ones do nothing more. c.portMu is held.
func (c *Controller) portUp(port, tenant string) error {
	if old, ok := c.topo.local[port]; ok {
		if old == tenant {
			return nil
		}
		if err := c.portDown(port); err != nil { // the port moved to another tenant
			return err
		}
	}
	if c.selective && tenant != "" && c.topo.tenants[tenant] == 0 {
		if err := c.subscribeTopic(tenant); err != nil {
			return err
		}
	}
	c.topo.local[port] = tenant
	c.topo.tenants[tenant]++
	return nil
}

// portDown forgets local port. With selective topology the last local
// port of a tenant unsubscribes its topic and drops its objects from the
// cache. A port that is not local is a no-op. c.portMu is held.
func (c *Controller) portDown(port string) error {
	tenant, ok := c.topo.local[port]
	if !ok {
		return nil
	}
	delete(c.topo.local, port)
	if c.topo.tenants[tenant]--; c.topo.tenants[tenant] > 0 {
		return nil
	}
	delete(c.topo.tenants, tenant)
	if c.selective && tenant != "" {
		return c.unsubscribeTopic(tenant)
	}
	return nil
}

// subscribeTopic follows tenant: the cache accepts its objects first, then
// the subscriber registers the topic, then its sync is queued, so that no
// event of the topic arrives before the cache takes it.
func (c *Controller) subscribeTopic(tenant string) error {
	if !c.cache.addTopic(tenant) {
		return nil
	}
	if err := c.sub.RegisterTopic(tenant); err != nil {
		c.cache.removeTopic(tenant)
		return fmt.Errorf("controller: subscribe topic %q: %w", tenant, err)
	}
	c.st.topicsRegistered.Add(1)
	c.log.Info("subscribed tenant topic: first local port", "topic", tenant)
	c.request(tenant, ReasonTopicAdded)
	return nil
}

// unsubscribeTopic stops following tenant and drops its cached objects.
func (c *Controller) unsubscribeTopic(tenant string) error {
	err := c.sub.UnregisterTopic(tenant)
	dropped := c.cache.removeTopic(tenant)
	c.contact.forgetTopic(tenant)
	c.st.topicsUnregistered.Add(1)
	c.log.Info("unsubscribed tenant topic: last local port gone", "topic", tenant, "dropped", dropped)
	if err != nil {
		return fmt.Errorf("controller: unsubscribe topic %q: %w", tenant, err)
	}
	return nil
}

// LocalPorts returns the ids of the ports the port source reported up,
// sorted.
func (c *Controller) LocalPorts() []string {
	if p := c.localPorts.Load(); p != nil {
		return slices.Clone(*p)
	}
	return []string{}
}

// publishLocalPorts refreshes what LocalPorts returns; c.portMu is held.
func (c *Controller) publishLocalPorts() {
	ports := slices.Sorted(maps.Keys(c.topo.local))
	c.localPorts.Store(&ports)
}
