package model

// Port statuses (Neutron's), carried as the Value of ActionUpdate events and
// in LogicalPort.Status.
const (
	PortStatusActive = "ACTIVE"
	PortStatusDown   = "DOWN"
	PortStatusBuild  = "BUILD"
	PortStatusError  = "ERROR"
)

// Topic, version and unique key are Dragonflow mixins: Topic is the Neutron
// project (tenant) id and is required; Version is Neutron's revision_number
// and is always written, so a Python peer never compares None; UniqueKey is
// allocated on create and omitted while it is 0.

// LogicalSwitch is a row of table "lswitch": a Neutron network.
type LogicalSwitch struct {
	ID              string `json:"id"`
	Topic           string `json:"topic"`
	Name            string `json:"name,omitempty"`
	Version         int64  `json:"version"`
	UniqueKey       int64  `json:"unique_key,omitempty"`
	NetworkType     string `json:"network_type,omitempty"` // "vxlan", "vlan", "flat", ...
	PhysicalNetwork string `json:"physical_network,omitempty"`
	// SegmentationID is the VLAN id or VNI; 0 (flat, local) is omitted, as
	// Neutron's None.
	SegmentationID int  `json:"segmentation_id,omitempty"`
	MTU            int  `json:"mtu,omitempty"`
	IsExternal     bool `json:"is_external,omitempty"` // false reads like None in Dragonflow
}

// Subnet is a row of table "lsubnet".
type Subnet struct {
	ID      string `json:"id"`
	Topic   string `json:"topic"`
	Name    string `json:"name,omitempty"`
	Version int64  `json:"version"`
	// LSwitch is the id of the subnet's LogicalSwitch (a reference: required).
	LSwitch    string `json:"lswitch"`
	CIDR       string `json:"cidr"`
	GatewayIP  string `json:"gateway_ip,omitempty"` // Neutron allows no gateway
	EnableDHCP bool   `json:"enable_dhcp"`
	DHCPIP     string `json:"dhcp_ip,omitempty"`
	// Lists are omitted when empty: Go would write a nil slice as null,
	// which jsonmodels rejects, and an absent list reads as [] in Python.
	DNSNameservers []string    `json:"dns_nameservers,omitempty"`
	HostRoutes     []HostRoute `json:"host_routes,omitempty"`
}

// HostRoute is one static route of a Subnet.
type HostRoute struct {
	Destination string `json:"destination"` // a CIDR
	Nexthop     string `json:"nexthop"`
}

// LogicalPort is a row of table "lport": a Neutron port.
//
// Enabled is a plain bool, always written: Dragonflow only tests its truth,
// so None and false mean the same, and a pointer would burden every reader
// with a nil check for no gain.
type LogicalPort struct {
	ID      string `json:"id"`
	Topic   string `json:"topic"`
	Name    string `json:"name,omitempty"`
	Version int64  `json:"version"`
	// LSwitch is the id of the port's LogicalSwitch.
	LSwitch string   `json:"lswitch"`
	MACs    []string `json:"macs,omitempty"`
	IPs     []string `json:"ips,omitempty"`
	// Subnets are ids of Subnet rows.
	Subnets     []string `json:"subnets,omitempty"`
	Enabled     bool     `json:"enabled"`
	DeviceOwner string   `json:"device_owner,omitempty"` // e.g. "compute:nova"
	DeviceID    string   `json:"device_id,omitempty"`
	// BindingHost is the chassis id the port is bound to, "" when unbound.
	BindingHost string `json:"binding_host,omitempty"`
	// Status is one of the PortStatus constants, "" when unknown.
	Status              string        `json:"status,omitempty"`
	AllowedAddressPairs []AddressPair `json:"allowed_address_pairs,omitempty"`
	UniqueKey           int64         `json:"unique_key,omitempty"`
}

// AddressPair is one of LogicalPort.AllowedAddressPairs: an address the port
// may also answer for (e.g. a VRRP virtual IP).
type AddressPair struct {
	IPAddress  string `json:"ip_address"`
	MACAddress string `json:"mac_address"`
}

// Table implements Model.
func (*LogicalSwitch) Table() string { return TableLogicalSwitch }

// Key implements Model.
func (s *LogicalSwitch) Key() string { return s.ID }

// ObjTopic implements Model.
func (s *LogicalSwitch) ObjTopic() string { return s.Topic }

// GetVersion implements Versioned.
func (s *LogicalSwitch) GetVersion() int64 { return s.Version }

// SetVersion implements Versioned.
func (s *LogicalSwitch) SetVersion(v int64) { s.Version = v }

// Table implements Model.
func (*Subnet) Table() string { return TableSubnet }

// Key implements Model.
func (s *Subnet) Key() string { return s.ID }

// ObjTopic implements Model.
func (s *Subnet) ObjTopic() string { return s.Topic }

// GetVersion implements Versioned.
func (s *Subnet) GetVersion() int64 { return s.Version }

// SetVersion implements Versioned.
func (s *Subnet) SetVersion(v int64) { s.Version = v }

// Table implements Model.
func (*LogicalPort) Table() string { return TableLogicalPort }

// Key implements Model.
func (p *LogicalPort) Key() string { return p.ID }

// ObjTopic implements Model.
func (p *LogicalPort) ObjTopic() string { return p.Topic }

// GetVersion implements Versioned.
func (p *LogicalPort) GetVersion() int64 { return p.Version }

// SetVersion implements Versioned.
func (p *LogicalPort) SetVersion(v int64) { p.Version = v }

var (
	_ Versioned = (*LogicalSwitch)(nil)
	_ Versioned = (*Subnet)(nil)
	_ Versioned = (*LogicalPort)(nil)
)
