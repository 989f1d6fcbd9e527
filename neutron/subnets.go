package neutron

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"

	"github.com/google/uuid"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// subnets is the /v2.0/subnets collection: model.Subnet plus extra
// (ip_version, allocation_pools, description, timestamps, tags).
type subnets struct{ s *store }

var (
	subnetAttrs = []string{"id", "name", "network_id", "project_id", "tenant_id", "cidr", "ip_version", "gateway_ip",
		"enable_dhcp", "allocation_pools", "dns_nameservers", "host_routes", "description", "created_at",
		"updated_at", "revision_number", "tags", "ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id",
		"service_types", "segment_id"}
	subnetCreate = []string{"id", "name", "network_id", "project_id", "tenant_id", "cidr", "ip_version", "gateway_ip",
		"enable_dhcp", "allocation_pools", "dns_nameservers", "host_routes", "description", "tags"}
	subnetUpdate  = []string{"name", "gateway_ip", "enable_dhcp", "allocation_pools", "dns_nameservers", "host_routes", "description", "tags"}
	subnetIgnored = []string{"ipv6_ra_mode", "ipv6_address_mode", "subnetpool_id", "use_default_subnetpool",
		"service_types", "segment_id", "prefixlen"}
)

func (*subnets) singular() string { return "subnet" }

func (sn *subnets) view(sub *model.Subnet, ex extra) view {
	si := newSubnetInfo(sub, ex)
	ipVersion := ex.IPVersion
	if ipVersion == 0 {
		ipVersion = 4
		if si.prefix.Addr().Is6() {
			ipVersion = 6
		}
	}
	routes := sub.HostRoutes
	if routes == nil {
		routes = []model.HostRoute{}
	}
	pools := si.pools
	if pools == nil {
		pools = []pool{}
	}
	dns := sub.DNSNameservers
	if dns == nil {
		dns = []string{}
	}
	return view{
		"id": sub.ID, "name": sub.Name, "network_id": sub.LSwitch, "project_id": sub.Topic, "tenant_id": sub.Topic,
		"cidr": sub.CIDR, "ip_version": ipVersion, "gateway_ip": nilIfEmpty(sub.GatewayIP),
		"enable_dhcp": sub.EnableDHCP, "allocation_pools": pools, "dns_nameservers": dns, "host_routes": routes,
		"description": ex.Description, "created_at": ex.CreatedAt, "updated_at": ex.UpdatedAt,
		"revision_number": sub.Version, "tags": tagsOf(ex), "ipv6_ra_mode": nil, "ipv6_address_mode": nil,
		"subnetpool_id": nil, "service_types": []string{}, "segment_id": nil,
	}
}

func (sn *subnets) list(ctx context.Context, q url.Values) ([]view, error) {
	subs, _, err := nbapi.List[model.Subnet](ctx, sn.s.nb, "")
	if err != nil {
		return nil, err
	}
	exs, err := sn.s.extras(ctx, "subnet")
	if err != nil {
		return nil, err
	}
	vs := make([]view, 0, len(subs))
	for _, sub := range subs {
		vs = append(vs, sn.view(sub, exs[sub.ID]))
	}
	return filter(vs, q, subnetAttrs)
}

// load reads a subnet and its extra.
func (s *store) loadSubnet(ctx context.Context, id string) (*model.Subnet, extra, error) {
	sub := &model.Subnet{ID: id}
	if err := s.get(ctx, sub); err != nil {
		return nil, extra{}, wrapNotFound(err, "Subnet", id)
	}
	ex, err := s.getExtra(ctx, "subnet", id)
	return sub, ex, err
}

func (sn *subnets) show(ctx context.Context, id string) (view, error) {
	sub, ex, err := sn.s.loadSubnet(ctx, id)
	if err != nil {
		return nil, err
	}
	return sn.view(sub, ex), nil
}

// apply sets the updatable attributes of a on sub and ex, validated
// against the subnet's prefix.
func (sn *subnets) apply(a attrs, sub *model.Subnet, ex *extra, prefix netip.Prefix) error {
	if _, err := a.str("name", &sub.Name); err != nil {
		return err
	}
	if err := checkLen("name", sub.Name, 255); err != nil {
		return err
	}
	if _, err := a.str("description", &ex.Description); err != nil {
		return err
	}
	if _, err := a.boolean("enable_dhcp", &sub.EnableDHCP); err != nil {
		return err
	}
	if _, err := a.strList("tags", &ex.Tags); err != nil {
		return err
	}
	if ok, err := a.strList("dns_nameservers", &sub.DNSNameservers); err != nil {
		return err
	} else if ok {
		for _, d := range sub.DNSNameservers {
			if _, err := netip.ParseAddr(d); err != nil {
				return badRequest("dns_nameservers", "'%s' is not a valid nameserver", d)
			}
		}
	}
	if a.isNull("host_routes") {
		sub.HostRoutes = nil
	} else if ok, err := a.decode("host_routes", &sub.HostRoutes, "list of host routes"); err != nil {
		return err
	} else if ok {
		for _, hr := range sub.HostRoutes {
			if _, err := netip.ParsePrefix(hr.Destination); err != nil {
				return badRequest("host_routes", "'%s' is not a valid CIDR", hr.Destination)
			}
			if _, err := netip.ParseAddr(hr.Nexthop); err != nil {
				return badRequest("host_routes", "'%s' is not a valid IP address", hr.Nexthop)
			}
		}
	}
	if a.has("gateway_ip") {
		var gw string
		if _, err := a.str("gateway_ip", &gw); err != nil {
			return err
		}
		if gw == "" {
			sub.GatewayIP, ex.NoGateway = "", true
		} else {
			ip, err := netip.ParseAddr(gw)
			if err != nil || !prefix.Contains(ip) {
				return badRequest("gateway_ip", "'%s' is not a valid IP address in %s", gw, prefix)
			}
			sub.GatewayIP, ex.NoGateway = ip.String(), false
		}
	}
	if a.isNull("allocation_pools") {
		ex.AllocationPools = nil
	} else if ok, err := a.decode("allocation_pools", &ex.AllocationPools, "list of allocation pools"); err != nil {
		return err
	} else if ok {
		for _, p := range ex.AllocationPools {
			start, err1 := netip.ParseAddr(p.Start)
			end, err2 := netip.ParseAddr(p.End)
			if err1 != nil || err2 != nil || !prefix.Contains(start) || !prefix.Contains(end) || end.Less(start) {
				return badRequest("allocation_pools", "the pool %s-%s is not a valid range of %s", p.Start, p.End, prefix)
			}
		}
	}
	return nil
}

func (sn *subnets) create(ctx context.Context, r *http.Request, a attrs) (view, error) {
	if err := a.check(subnetCreate, subnetIgnored); err != nil {
		return nil, err
	}
	projectID, err := a.project(r)
	if err != nil {
		return nil, err
	}
	sub := &model.Subnet{ID: uuid.NewString(), Topic: projectID, Version: 1, EnableDHCP: true}
	if _, err := a.str("id", &sub.ID); err != nil {
		return nil, err
	}
	if _, err := a.str("network_id", &sub.LSwitch); err != nil {
		return nil, err
	}
	if sub.LSwitch == "" {
		return nil, badRequest("network_id", "a network_id is required")
	}
	var cidr string
	if _, err := a.str("cidr", &cidr); err != nil {
		return nil, err
	}
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil, badRequest("cidr", "'%s' is not a valid IP subnet", cidr)
	}
	if prefix != prefix.Masked() {
		return nil, badRequest("cidr", "'%s' isn't a recommended CIDR, '%s' is recommended", cidr, prefix.Masked())
	}
	sub.CIDR = prefix.String()
	now := sn.s.timestamp()
	ex := extra{CreatedAt: now, UpdatedAt: now, IPVersion: 4}
	if prefix.Addr().Is6() {
		ex.IPVersion = 6
	}
	var ipVersion int
	if ok, err := a.integer("ip_version", &ipVersion); err != nil {
		return nil, err
	} else if ok && ipVersion != ex.IPVersion {
		return nil, badRequest("ip_version", "cidr %s is not an IPv%d subnet", cidr, ipVersion)
	}
	sub.GatewayIP = firstHost(prefix).String()
	if err := sn.apply(a, sub, &ex, prefix); err != nil {
		return nil, err
	}
	if _, err := (&networks{s: sn.s}).load(ctx, sub.LSwitch); err != nil {
		return nil, err
	}
	if err := sn.checkOverlap(ctx, sub, prefix); err != nil {
		return nil, err
	}
	if err := sn.s.putExtra(ctx, "subnet", sub.ID, ex); err != nil {
		return nil, err
	}
	if err := sn.s.create(ctx, sub); err != nil {
		sn.s.deleteExtra(ctx, "subnet", sub.ID)
		if errors.Is(err, nb.ErrExists) {
			return nil, conflict("SubnetExists", "Subnet %s already exists.", sub.ID)
		}
		return nil, err
	}
	return sn.view(sub, ex), nil
}

// checkOverlap rejects a subnet overlapping another of its network.
func (sn *subnets) checkOverlap(ctx context.Context, sub *model.Subnet, prefix netip.Prefix) error {
	subs, _, err := nbapi.List[model.Subnet](ctx, sn.s.nb, "")
	if err != nil {
		return err
	}
	for _, o := range subs {
		op, err := netip.ParsePrefix(o.CIDR)
		if o.LSwitch == sub.LSwitch && o.ID != sub.ID && err == nil && op.Overlaps(prefix) {
			return badInput("Invalid input for operation: Requested subnet with cidr: %s for network: %s "+
				"overlaps with another subnet.", prefix, sub.LSwitch)
		}
	}
	return nil
}

func (sn *subnets) update(ctx context.Context, id string, a attrs) (view, error) {
	if err := a.readOnly("id", "network_id", "project_id", "tenant_id", "cidr", "ip_version"); err != nil {
		return nil, err
	}
	if err := a.check(subnetUpdate, subnetIgnored); err != nil {
		return nil, err
	}
	_, ex, err := sn.s.loadSubnet(ctx, id)
	if err != nil {
		return nil, err
	}
	var applied extra
	sub, err := replace(ctx, sn.s, id, true, func(sub *model.Subnet) error {
		applied = ex
		prefix, _ := netip.ParsePrefix(sub.CIDR)
		return sn.apply(a, sub, &applied, prefix)
	})
	if err != nil {
		return nil, wrapNotFound(err, "Subnet", id)
	}
	applied.UpdatedAt = sn.s.timestamp()
	if err := sn.s.putExtra(ctx, "subnet", id, applied); err != nil {
		return nil, err
	}
	return sn.view(sub, applied), nil
}

func (sn *subnets) remove(ctx context.Context, id string) error {
	sub, _, err := sn.s.loadSubnet(ctx, id)
	if err != nil {
		return err
	}
	ports, _, err := nbapi.List[model.LogicalPort](ctx, sn.s.nb, "")
	if err != nil {
		return err
	}
	for _, p := range ports {
		if slices.Contains(p.Subnets, id) {
			return conflict("SubnetInUse", "Unable to complete operation on subnet %s: "+
				"One or more ports have an IP allocation from this subnet.", id)
		}
	}
	if err := sn.s.delete(ctx, sub); err != nil {
		return wrapNotFound(err, "Subnet", id)
	}
	sn.s.deleteExtra(ctx, "subnet", id)
	return nil
}
