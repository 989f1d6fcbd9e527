package neutron

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// pool is one of a subnet's allocation_pools.
type pool struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// maxAllocTries bounds how many free-looking addresses allocate tries to
// claim when other processes race for the same ones.
const maxAllocTries = 64

// fixedIP is one of a port's fixed_ips.
type fixedIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// firstHost is the gateway Neutron picks by default: the network address + 1.
func firstHost(p netip.Prefix) netip.Addr { return p.Masked().Addr().Next() }

// defaultPools is Neutron's default allocation pool: every host address
// (IPv4: without the network and broadcast addresses) minus the gateway.
func defaultPools(p netip.Prefix, gw netip.Addr) []pool {
	start, end := p.Masked().Addr().Next(), lastAddr(p)
	if p.Addr().Is4() {
		end = end.Prev()
	}
	if !start.IsValid() || !end.IsValid() || end.Less(start) {
		return nil
	}
	switch {
	case gw == start:
		start = start.Next()
	case gw == end:
		end = end.Prev()
	case gw.IsValid() && start.Less(gw) && gw.Less(end):
		return []pool{{start.String(), gw.Prev().String()}, {gw.Next().String(), end.String()}}
	}
	if end.Less(start) {
		return nil
	}
	return []pool{{start.String(), end.String()}}
}

// randomMAC is a Neutron-style MAC: fa:16:3e:xx:xx:xx.
func randomMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

func ipamKey(subnetID string, ip netip.Addr) string { return subnetID + "/" + ip.String() }

// used returns the allocated addresses of a subnet.
func (s *store) used(ctx context.Context, subnetID string) (map[netip.Addr]string, error) {
	kvs, _, err := s.db.List(ctx, TableIPAM, "")
	if err != nil {
		return nil, fmt.Errorf("neutron: list allocations: %w", err)
	}
	out := map[netip.Addr]string{}
	for _, kv := range kvs {
		rest, ok := strings.CutPrefix(kv.Key, subnetID+"/")
		if !ok {
			continue
		}
		ip, err := netip.ParseAddr(rest)
		if err != nil {
			continue
		}
		var row ipamRow
		_ = json.Unmarshal(kv.Value, &row)
		out[ip] = row.PortID
	}
	return out, nil
}

// claim records ip of subnet as allocated to portID; nb.ErrExists when it
// is taken.
func (s *store) claim(ctx context.Context, subnetID string, ip netip.Addr, portID string) error {
	data, _ := json.Marshal(ipamRow{PortID: portID})
	if _, err := s.db.Create(ctx, TableIPAM, ipamKey(subnetID, ip), data); err != nil {
		return fmt.Errorf("neutron: allocate %s in subnet %s: %w", ip, subnetID, err)
	}
	return nil
}

// release frees the allocations of fips (those of portID only).
func (s *store) release(ctx context.Context, portID string, fips []fixedIP) {
	for _, f := range fips {
		ip, err := netip.ParseAddr(f.IPAddress)
		if err != nil {
			continue
		}
		key := ipamKey(f.SubnetID, ip)
		kv, err := s.db.Get(ctx, TableIPAM, key)
		if err != nil {
			continue
		}
		var row ipamRow
		if json.Unmarshal(kv.Value, &row) == nil && row.PortID != portID {
			continue
		}
		if err := s.db.Delete(ctx, TableIPAM, key, kv.ModRevision); err != nil && !errors.Is(err, nb.ErrNotFound) {
			s.log.Warn("could not release an allocation; the address stays taken", "key", key, "err", err)
		}
	}
}

// subnetInfo is a subnet as allocation needs it.
type subnetInfo struct {
	sub    *model.Subnet
	prefix netip.Prefix
	gw     netip.Addr
	pools  []pool
}

func newSubnetInfo(sub *model.Subnet, ex extra) subnetInfo {
	si := subnetInfo{sub: sub}
	si.prefix, _ = netip.ParsePrefix(sub.CIDR)
	si.gw, _ = netip.ParseAddr(sub.GatewayIP)
	si.pools = ex.AllocationPools
	if len(si.pools) == 0 {
		si.pools = defaultPools(si.prefix, si.gw)
	}
	return si
}

// allocate claims ip in the subnet for portID, or the first free address
// of the subnet's pools when ip is invalid (zero). Errors: 400
// InvalidIpForSubnet, 409 IpAddressAlreadyAllocated,
// 409 IpAddressGenerationFailure.
func (s *store) allocate(ctx context.Context, si subnetInfo, ip netip.Addr, portID, deviceOwner string) (netip.Addr, error) {
	id := si.sub.ID
	if ip.IsValid() {
		if !si.prefix.Contains(ip) || ip == si.prefix.Masked().Addr() || (ip.Is4() && ip == lastAddr(si.prefix)) {
			return ip, newErr(400, "InvalidIpForSubnet", "IP address %s is not a valid IP for the specified subnet.", ip)
		}
		if ip == si.gw && !strings.HasPrefix(deviceOwner, "network:router") {
			return ip, conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", ip, id)
		}
		err := s.claim(ctx, id, ip, portID)
		if errors.Is(err, nb.ErrExists) {
			return ip, conflict("IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", ip, id)
		}
		return ip, err
	}
	taken, err := s.used(ctx, id)
	if err != nil {
		return ip, err
	}
	tries := 0
	for _, p := range si.pools {
		start, err1 := netip.ParseAddr(p.Start)
		end, err2 := netip.ParseAddr(p.End)
		if err1 != nil || err2 != nil {
			continue
		}
		for a := start; a.IsValid() && !end.Less(a); a = a.Next() {
			if _, ok := taken[a]; ok || a == si.gw {
				continue
			}
			err := s.claim(ctx, id, a, portID)
			if err == nil {
				return a, nil
			}
			if !errors.Is(err, nb.ErrExists) {
				return a, err
			}
			if tries++; tries >= maxAllocTries {
				break
			}
		}
	}
	return ip, conflict("IpAddressGenerationFailure", "No more IP addresses available on network %s.", si.sub.LSwitch)
}
