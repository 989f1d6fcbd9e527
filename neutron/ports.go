package neutron

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// ports is the /v2.0/ports collection: model.LogicalPort plus extra
// (description, timestamps, tags), with fixed IPs allocated in TableIPAM.
type ports struct{ s *store }

var (
	portAttrs = []string{"id", "name", "network_id", "project_id", "tenant_id", "mac_address", "fixed_ips",
		"allowed_address_pairs", "device_owner", "device_id", "binding:host_id", "binding:vif_type",
		"binding:vnic_type", "binding:profile", "binding:vif_details", "status", "admin_state_up", "description",
		"created_at", "updated_at", "revision_number", "tags", "security_groups", "port_security_enabled",
		"extra_dhcp_opts"}
	portCreate = []string{"id", "name", "network_id", "project_id", "tenant_id", "mac_address", "fixed_ips",
		"allowed_address_pairs", "device_owner", "device_id", "binding:host_id", "admin_state_up", "description", "tags"}
	portUpdate = []string{"name", "mac_address", "fixed_ips", "allowed_address_pairs", "device_owner", "device_id",
		"binding:host_id", "admin_state_up", "description", "tags"}
	portIgnored = []string{"security_groups", "port_security_enabled", "binding:vnic_type", "binding:profile",
		"dns_name", "dns_domain", "qos_policy_id", "extra_dhcp_opts", "propagate_uplink_status",
		"numa_affinity_policy", "data_plane_status"}
)

func (*ports) singular() string { return "port" }

// fixedIPsOf pairs the port's IPs with its subnets (parallel lists, as
// Dragonflow's Neutron plugin writes them).
func fixedIPsOf(lp *model.LogicalPort) []fixedIP {
	out := make([]fixedIP, 0, len(lp.IPs))
	for i, ip := range lp.IPs {
		f := fixedIP{IPAddress: ip}
		if i < len(lp.Subnets) {
			f.SubnetID = lp.Subnets[i]
		}
		out = append(out, f)
	}
	return out
}

func (p *ports) view(lp *model.LogicalPort, ex extra) view {
	mac := ""
	if len(lp.MACs) > 0 {
		mac = lp.MACs[0]
	}
	pairs := lp.AllowedAddressPairs
	if pairs == nil {
		pairs = []model.AddressPair{}
	}
	vifType := "unbound"
	if lp.BindingHost != "" {
		vifType = "ovs"
	}
	return view{
		"id": lp.ID, "name": lp.Name, "network_id": lp.LSwitch, "project_id": lp.Topic, "tenant_id": lp.Topic,
		"mac_address": mac, "fixed_ips": fixedIPsOf(lp), "allowed_address_pairs": pairs,
		"device_owner": lp.DeviceOwner, "device_id": lp.DeviceID, "binding:host_id": lp.BindingHost,
		"binding:vif_type": vifType, "binding:vnic_type": "normal", "binding:profile": map[string]any{},
		"binding:vif_details": map[string]any{}, "status": lp.Status, "admin_state_up": lp.Enabled,
		"description": ex.Description, "created_at": ex.CreatedAt, "updated_at": ex.UpdatedAt,
		"revision_number": lp.Version, "tags": tagsOf(ex), "security_groups": []string{},
		"port_security_enabled": true, "extra_dhcp_opts": []any{},
	}
}

func (p *ports) list(ctx context.Context, q url.Values) ([]view, error) {
	lps, _, err := nbapi.List[model.LogicalPort](ctx, p.s.nb, "")
	if err != nil {
		return nil, err
	}
	exs, err := p.s.extras(ctx, "port")
	if err != nil {
		return nil, err
	}
	vs := make([]view, 0, len(lps))
	for _, lp := range lps {
		vs = append(vs, p.view(lp, exs[lp.ID]))
	}
	return filter(vs, q, portAttrs)
}

func (p *ports) load(ctx context.Context, id string) (*model.LogicalPort, extra, error) {
	lp := &model.LogicalPort{ID: id}
	if err := p.s.get(ctx, lp); err != nil {
		return nil, extra{}, wrapNotFound(err, "Port", id)
	}
	ex, err := p.s.getExtra(ctx, "port", id)
	return lp, ex, err
}

func (p *ports) show(ctx context.Context, id string) (view, error) {
	lp, ex, err := p.load(ctx, id)
	if err != nil {
		return nil, err
	}
	return p.view(lp, ex), nil
}

// apply sets the plain attributes of a on lp and ex (not fixed_ips).
func (p *ports) apply(a attrs, lp *model.LogicalPort, ex *extra) error {
	for name, dst := range map[string]*string{
		"name": &lp.Name, "description": &ex.Description, "device_owner": &lp.DeviceOwner,
		"device_id": &lp.DeviceID, "binding:host_id": &lp.BindingHost,
	} {
		if _, err := a.str(name, dst); err != nil {
			return err
		}
		if err := checkLen(name, *dst, 255); err != nil {
			return err
		}
	}
	if _, err := a.boolean("admin_state_up", &lp.Enabled); err != nil {
		return err
	}
	if _, err := a.strList("tags", &ex.Tags); err != nil {
		return err
	}
	var mac string
	if ok, err := a.str("mac_address", &mac); err != nil {
		return err
	} else if ok {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			return badRequest("mac_address", "'%s' is not a valid MAC address", mac)
		}
		lp.MACs = []string{hw.String()}
	}
	if a.isNull("allowed_address_pairs") {
		lp.AllowedAddressPairs = nil
	} else if ok, err := a.decode("allowed_address_pairs", &lp.AllowedAddressPairs, "list of address pairs"); err != nil {
		return err
	} else if ok {
		for i, pair := range lp.AllowedAddressPairs {
			if _, err := netip.ParseAddr(pair.IPAddress); err != nil {
				if _, err := netip.ParsePrefix(pair.IPAddress); err != nil {
					return badRequest("allowed_address_pairs", "'%s' is not a valid IP address", pair.IPAddress)
				}
			}
			if pair.MACAddress == "" && len(lp.MACs) > 0 {
				lp.AllowedAddressPairs[i].MACAddress = lp.MACs[0]
			} else if _, err := net.ParseMAC(pair.MACAddress); err != nil {
				return badRequest("allowed_address_pairs", "'%s' is not a valid MAC address", pair.MACAddress)
			}
		}
		if len(lp.AllowedAddressPairs) == 0 {
			lp.AllowedAddressPairs = nil
		}
	}
	return nil
}

// networkSubnets returns the subnets of network, by id, in id order.
func (s *store) networkSubnets(ctx context.Context, network string) ([]subnetInfo, error) {
	subs, _, err := nbapi.List[model.Subnet](ctx, s.nb, "")
	if err != nil {
		return nil, err
	}
	var out []subnetInfo
	for _, sub := range subs {
		if sub.LSwitch != network {
			continue
		}
		ex, err := s.getExtra(ctx, "subnet", sub.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, newSubnetInfo(sub, ex))
	}
	return out, nil
}

// requestedIPs parses fixed_ips: nil, false when absent.
func requestedIPs(a attrs) ([]fixedIP, bool, error) {
	if !a.has("fixed_ips") || a.isNull("fixed_ips") {
		return nil, a.has("fixed_ips"), nil
	}
	var raw []map[string]string
	if _, err := a.decode("fixed_ips", &raw, "list of fixed IPs"); err != nil {
		return nil, true, err
	}
	out := make([]fixedIP, 0, len(raw))
	for _, m := range raw {
		var f fixedIP
		for k, v := range m {
			switch k {
			case "subnet_id":
				f.SubnetID = v
			case "ip_address":
				f.IPAddress = v
			default:
				return nil, true, badRequest("fixed_ips", "unrecognized key '%s' in fixed IP", k)
			}
		}
		if f.IPAddress != "" {
			if _, err := netip.ParseAddr(f.IPAddress); err != nil {
				return nil, true, badRequest("fixed_ips", "'%s' is not a valid IP address", f.IPAddress)
			}
		}
		out = append(out, f)
	}
	return out, true, nil
}

// allocateAll allocates want on network for portID: entries of keep (the
// port's current fixed IPs) are kept as they are; with auto, one address
// of the network's first IPv4 subnet (else first subnet) is allocated. On
// error nothing stays allocated. It returns the fixed IPs and those newly
// allocated.
func (s *store) allocateAll(ctx context.Context, network, portID, owner string, want []fixedIP, auto bool, keep []fixedIP) (all, fresh []fixedIP, err error) {
	subs, err := s.networkSubnets(ctx, network)
	if err != nil {
		return nil, nil, err
	}
	if auto {
		want = nil
		for _, si := range subs {
			if si.prefix.Addr().Is4() {
				want = []fixedIP{{SubnetID: si.sub.ID}}
				break
			}
		}
		if want == nil && len(subs) > 0 {
			want = []fixedIP{{SubnetID: subs[0].sub.ID}}
		}
	}
	defer func() {
		if err != nil {
			s.release(ctx, portID, fresh)
		}
	}()
	for _, f := range want {
		si, err := pickSubnet(subs, network, f)
		if err != nil {
			return nil, fresh, err
		}
		ip, _ := netip.ParseAddr(f.IPAddress)
		if ip.IsValid() && containsIP(keep, si.sub.ID, ip.String()) {
			all = append(all, fixedIP{SubnetID: si.sub.ID, IPAddress: ip.String()})
			continue
		}
		got, err := s.allocate(ctx, si, ip, portID, owner)
		if err != nil {
			return nil, fresh, err
		}
		nf := fixedIP{SubnetID: si.sub.ID, IPAddress: got.String()}
		all, fresh = append(all, nf), append(fresh, nf)
	}
	return all, fresh, nil
}

func containsIP(fips []fixedIP, subnet, ip string) bool {
	for _, f := range fips {
		if f.SubnetID == subnet && f.IPAddress == ip {
			return true
		}
	}
	return false
}

// pickSubnet finds the subnet of a requested fixed IP: by id, else the
// network's subnet containing the address.
func pickSubnet(subs []subnetInfo, network string, f fixedIP) (subnetInfo, error) {
	ip, _ := netip.ParseAddr(f.IPAddress)
	for _, si := range subs {
		if f.SubnetID != "" && si.sub.ID == f.SubnetID {
			return si, nil
		}
		if f.SubnetID == "" && ip.IsValid() && si.prefix.Contains(ip) {
			return si, nil
		}
	}
	switch {
	case f.SubnetID != "":
		return subnetInfo{}, badInput("Invalid input for operation: Failed to create port on network %s, "+
			"because fixed_ips included invalid subnet %s.", network, f.SubnetID)
	case ip.IsValid():
		return subnetInfo{}, newErr(http.StatusBadRequest, "InvalidIpForNetwork",
			"IP address %s is not a valid IP for any of the subnets on the specified network.", ip)
	}
	return subnetInfo{}, badRequest("fixed_ips", "a fixed IP needs a subnet_id or an ip_address")
}

func setFixedIPs(lp *model.LogicalPort, fips []fixedIP) {
	lp.IPs, lp.Subnets = nil, nil
	for _, f := range fips {
		lp.IPs = append(lp.IPs, f.IPAddress)
		lp.Subnets = append(lp.Subnets, f.SubnetID)
	}
}

// checkMAC rejects a MAC another port of the network has (409 MacAddressInUse).
func (p *ports) checkMAC(ctx context.Context, lp *model.LogicalPort) error {
	if len(lp.MACs) == 0 {
		return nil
	}
	lps, _, err := nbapi.List[model.LogicalPort](ctx, p.s.nb, "")
	if err != nil {
		return err
	}
	for _, o := range lps {
		if o.ID != lp.ID && o.LSwitch == lp.LSwitch && len(o.MACs) > 0 && strings.EqualFold(o.MACs[0], lp.MACs[0]) {
			return conflict("MacAddressInUse", "Unable to complete operation for network %s. "+
				"The mac address %s is in use.", lp.LSwitch, lp.MACs[0])
		}
	}
	return nil
}

func (p *ports) create(ctx context.Context, r *http.Request, a attrs) (view, error) {
	if err := a.check(portCreate, portIgnored); err != nil {
		return nil, err
	}
	projectID, err := a.project(r)
	if err != nil {
		return nil, err
	}
	lp := &model.LogicalPort{ID: uuid.NewString(), Topic: projectID, Version: 1, Enabled: true, Status: model.PortStatusDown}
	if _, err := a.str("id", &lp.ID); err != nil {
		return nil, err
	}
	if _, err := a.str("network_id", &lp.LSwitch); err != nil {
		return nil, err
	}
	if lp.LSwitch == "" {
		return nil, badRequest("network_id", "a network_id is required")
	}
	now := p.s.timestamp()
	ex := extra{CreatedAt: now, UpdatedAt: now}
	explicitMAC := a.has("mac_address")
	if !explicitMAC {
		lp.MACs = []string{randomMAC()}
	}
	if err := p.apply(a, lp, &ex); err != nil {
		return nil, err
	}
	want, given, err := requestedIPs(a)
	if err != nil {
		return nil, err
	}
	if _, err := (&networks{s: p.s}).load(ctx, lp.LSwitch); err != nil {
		return nil, err
	}
	if explicitMAC {
		if err := p.checkMAC(ctx, lp); err != nil {
			return nil, err
		}
	}
	fips, _, err := p.s.allocateAll(ctx, lp.LSwitch, lp.ID, lp.DeviceOwner, want, !given, nil)
	if err != nil {
		return nil, err
	}
	setFixedIPs(lp, fips)
	if err := p.s.putExtra(ctx, "port", lp.ID, ex); err != nil {
		p.s.release(ctx, lp.ID, fips)
		return nil, err
	}
	if err := p.s.create(ctx, lp); err != nil {
		p.s.deleteExtra(ctx, "port", lp.ID)
		p.s.release(ctx, lp.ID, fips)
		if errors.Is(err, nb.ErrExists) {
			return nil, conflict("PortExists", "Port %s already exists.", lp.ID)
		}
		return nil, err
	}
	return p.view(lp, ex), nil
}

func (p *ports) update(ctx context.Context, id string, a attrs) (view, error) {
	if err := a.readOnly("id", "network_id", "project_id", "tenant_id", "status"); err != nil {
		return nil, err
	}
	if err := a.check(portUpdate, portIgnored); err != nil {
		return nil, err
	}
	cur, ex, err := p.load(ctx, id)
	if err != nil {
		return nil, err
	}
	want, given, err := requestedIPs(a)
	if err != nil {
		return nil, err
	}
	probe := *cur
	if err := p.apply(a, &probe, &extra{}); err != nil {
		return nil, err
	}
	if a.has("mac_address") {
		if err := p.checkMAC(ctx, &probe); err != nil {
			return nil, err
		}
	}
	old := fixedIPsOf(cur)
	var fips, fresh []fixedIP
	if given {
		if fips, fresh, err = p.s.allocateAll(ctx, cur.LSwitch, id, probe.DeviceOwner, want, false, old); err != nil {
			return nil, err
		}
	}
	var applied extra
	lp, err := replace(ctx, p.s, id, true, func(lp *model.LogicalPort) error {
		applied = ex
		if given {
			setFixedIPs(lp, fips)
		}
		return p.apply(a, lp, &applied)
	})
	if err != nil {
		p.s.release(ctx, id, fresh)
		return nil, wrapNotFound(err, "Port", id)
	}
	if given {
		var gone []fixedIP
		for _, f := range old {
			if !containsIP(fips, f.SubnetID, f.IPAddress) {
				gone = append(gone, f)
			}
		}
		p.s.release(ctx, id, gone)
	}
	applied.UpdatedAt = p.s.timestamp()
	if err := p.s.putExtra(ctx, "port", id, applied); err != nil {
		return nil, err
	}
	return p.view(lp, applied), nil
}

func (p *ports) remove(ctx context.Context, id string) error {
	lp, _, err := p.load(ctx, id)
	if err != nil {
		return err
	}
	if err := p.s.delete(ctx, lp); err != nil {
		return wrapNotFound(err, "Port", id)
	}
	p.s.release(ctx, id, fixedIPsOf(lp))
	p.s.deleteExtra(ctx, "port", id)
	return nil
}
