package neutron

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// DefaultMTU is the mtu of a network created without one.
const DefaultMTU = 1450

// networks is the /v2.0/networks collection: model.LogicalSwitch plus
// extra.
type networks struct{ s *store }

var (
	networkAttrs = []string{"id", "name", "project_id", "tenant_id", "status", "subnets", "mtu", "shared",
		"router:external", "admin_state_up", "description", "created_at", "updated_at", "revision_number", "tags",
		"provider:network_type", "provider:physical_network", "provider:segmentation_id",
		"availability_zone_hints", "availability_zones", "port_security_enabled",
		"ipv4_address_scope", "ipv6_address_scope", "l2_adjacency"}
	networkCreate  = []string{"id", "name", "project_id", "tenant_id", "mtu", "shared", "router:external", "admin_state_up", "description", "tags", "provider:network_type", "provider:physical_network", "provider:segmentation_id"}
	networkUpdate  = []string{"name", "mtu", "shared", "router:external", "admin_state_up", "description", "tags"}
	networkIgnored = []string{"port_security_enabled", "availability_zone_hints", "dns_domain", "qos_policy_id", "is_default", "vlan_transparent"}
)

func (*networks) singular() string { return "network" }

func (n *networks) view(sw *model.LogicalSwitch, ex extra, subnets []string) view {
	if subnets == nil {
		subnets = []string{}
	}
	v := view{
		"id": sw.ID, "name": sw.Name, "project_id": sw.Topic, "tenant_id": sw.Topic,
		"status": "ACTIVE", "subnets": subnets, "mtu": sw.MTU, "shared": ex.Shared,
		"router:external": sw.IsExternal, "admin_state_up": !ex.AdminStateDown,
		"description": ex.Description, "created_at": ex.CreatedAt, "updated_at": ex.UpdatedAt,
		"revision_number": sw.Version, "tags": tagsOf(ex),
		"availability_zone_hints": []string{}, "availability_zones": []string{},
		"port_security_enabled": true, "ipv4_address_scope": nil, "ipv6_address_scope": nil, "l2_adjacency": true,
	}
	if sw.NetworkType != "" {
		v["provider:network_type"] = sw.NetworkType
		v["provider:physical_network"] = nilIfEmpty(sw.PhysicalNetwork)
		if sw.SegmentationID != 0 {
			v["provider:segmentation_id"] = sw.SegmentationID
		} else {
			v["provider:segmentation_id"] = nil
		}
	}
	return v
}

func tagsOf(ex extra) []string {
	if ex.Tags == nil {
		return []string{}
	}
	return ex.Tags
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// subnetIDs maps network id → its subnets' ids.
func (s *store) subnetIDs(ctx context.Context) (map[string][]string, error) {
	subs, _, err := nbapi.List[model.Subnet](ctx, s.nb, "")
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, sub := range subs {
		out[sub.LSwitch] = append(out[sub.LSwitch], sub.ID)
	}
	return out, nil
}

func (n *networks) list(ctx context.Context, q url.Values) ([]view, error) {
	sws, _, err := nbapi.List[model.LogicalSwitch](ctx, n.s.nb, "")
	if err != nil {
		return nil, err
	}
	exs, err := n.s.extras(ctx, "network")
	if err != nil {
		return nil, err
	}
	subs, err := n.s.subnetIDs(ctx)
	if err != nil {
		return nil, err
	}
	vs := make([]view, 0, len(sws))
	for _, sw := range sws {
		vs = append(vs, n.view(sw, exs[sw.ID], subs[sw.ID]))
	}
	return filter(vs, q, networkAttrs)
}

func (n *networks) load(ctx context.Context, id string) (*model.LogicalSwitch, error) {
	sw := &model.LogicalSwitch{ID: id}
	if err := n.s.get(ctx, sw); err != nil {
		return nil, wrapNotFound(err, "Network", id)
	}
	return sw, nil
}

func (n *networks) show(ctx context.Context, id string) (view, error) {
	sw, err := n.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return n.viewOf(ctx, sw)
}

func (n *networks) viewOf(ctx context.Context, sw *model.LogicalSwitch) (view, error) {
	ex, err := n.s.getExtra(ctx, "network", sw.ID)
	if err != nil {
		return nil, err
	}
	subs, err := n.s.subnetIDs(ctx)
	if err != nil {
		return nil, err
	}
	return n.view(sw, ex, subs[sw.ID]), nil
}

// apply sets the attributes of a on sw and ex (create and update).
func (n *networks) apply(a attrs, sw *model.LogicalSwitch, ex *extra) error {
	if _, err := a.str("name", &sw.Name); err != nil {
		return err
	}
	if err := checkLen("name", sw.Name, 255); err != nil {
		return err
	}
	if _, err := a.str("description", &ex.Description); err != nil {
		return err
	}
	if ok, err := a.integer("mtu", &sw.MTU); err != nil {
		return err
	} else if ok && (sw.MTU < 68 || sw.MTU > 65535) {
		return badRequest("mtu", "'%d' is not in range 68 through 65535", sw.MTU)
	}
	up := !ex.AdminStateDown
	if _, err := a.boolean("admin_state_up", &up); err != nil {
		return err
	}
	ex.AdminStateDown = !up
	if _, err := a.boolean("shared", &ex.Shared); err != nil {
		return err
	}
	if _, err := a.boolean("router:external", &sw.IsExternal); err != nil {
		return err
	}
	if _, err := a.strList("tags", &ex.Tags); err != nil {
		return err
	}
	return nil
}

func (n *networks) create(ctx context.Context, r *http.Request, a attrs) (view, error) {
	if err := a.check(networkCreate, networkIgnored); err != nil {
		return nil, err
	}
	projectID, err := a.project(r)
	if err != nil {
		return nil, err
	}
	sw := &model.LogicalSwitch{ID: uuid.NewString(), Topic: projectID, Version: 1, MTU: DefaultMTU}
	if _, err := a.str("id", &sw.ID); err != nil {
		return nil, err
	}
	if _, err := uuid.Parse(sw.ID); err != nil {
		return nil, badRequest("id", "'%s' is not a valid UUID", sw.ID)
	}
	now := n.s.timestamp()
	ex := extra{CreatedAt: now, UpdatedAt: now}
	if err := n.apply(a, sw, &ex); err != nil {
		return nil, err
	}
	if _, err := a.str("provider:network_type", &sw.NetworkType); err != nil {
		return nil, err
	}
	if _, err := a.str("provider:physical_network", &sw.PhysicalNetwork); err != nil {
		return nil, err
	}
	if _, err := a.integer("provider:segmentation_id", &sw.SegmentationID); err != nil {
		return nil, err
	}
	if err := n.s.putExtra(ctx, "network", sw.ID, ex); err != nil {
		return nil, err
	}
	if err := n.s.create(ctx, sw); err != nil {
		n.s.deleteExtra(ctx, "network", sw.ID)
		if errors.Is(err, nb.ErrExists) {
			return nil, conflict("NetworkExists", "Network %s already exists.", sw.ID)
		}
		return nil, err
	}
	return n.view(sw, ex, nil), nil
}

func (n *networks) update(ctx context.Context, id string, a attrs) (view, error) {
	if err := a.readOnly("id", "project_id", "tenant_id", "status", "subnets", "provider:network_type",
		"provider:physical_network", "provider:segmentation_id"); err != nil {
		return nil, err
	}
	if err := a.check(networkUpdate, networkIgnored); err != nil {
		return nil, err
	}
	ex, err := n.s.getExtra(ctx, "network", id)
	if err != nil {
		return nil, err
	}
	var applied extra
	sw, err := replace(ctx, n.s, id, true, func(sw *model.LogicalSwitch) error {
		applied = ex
		return n.apply(a, sw, &applied)
	})
	if err != nil {
		return nil, wrapNotFound(err, "Network", id)
	}
	applied.UpdatedAt = n.s.timestamp()
	if err := n.s.putExtra(ctx, "network", id, applied); err != nil {
		return nil, err
	}
	return n.viewOf(ctx, sw)
}

func (n *networks) remove(ctx context.Context, id string) error {
	sw, err := n.load(ctx, id)
	if err != nil {
		return err
	}
	ports, _, err := nbapi.List[model.LogicalPort](ctx, n.s.nb, "")
	if err != nil {
		return err
	}
	for _, p := range ports {
		if p.LSwitch == id {
			return conflict("NetworkInUse", "Unable to complete operation on network %s. "+
				"There are one or more ports still in use on the network.", id)
		}
	}
	subs, err := n.s.subnetIDs(ctx)
	if err != nil {
		return err
	}
	if len(subs[id]) > 0 {
		return conflict("NetworkInUse", "Unable to complete operation on network %s. "+
			"There are one or more subnets still on the network.", id)
	}
	if err := n.s.delete(ctx, sw); err != nil {
		return wrapNotFound(err, "Network", id)
	}
	n.s.deleteExtra(ctx, "network", id)
	return nil
}
