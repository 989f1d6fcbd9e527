package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Role is what a process is in the pub/sub fabric. It selects the config
// section of its publisher/subscriber settings (see ForRole) and is written
// in the NB DB publisher table so subscribers can find publishers by role.
type Role string

// The roles.
const (
	RoleNeutronServer   Role = "neutron-server"
	RoleLocalController Role = "local-controller"
	// RolePublisherService is the process that publishes on the network
	// what the neutron server workers send it over IPC. It registers as
	// RoleNeutronServer.
	RolePublisherService Role = "publisher-service"
)

// Roles returns every role.
func Roles() []Role {
	return []Role{RoleNeutronServer, RoleLocalController, RolePublisherService}
}

func (r Role) String() string { return string(r) }

// ParseRole parses a role name; the error wraps ErrUnknownRole.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles() {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("config: %w %q (want %s, %s or %s)", ErrUnknownRole, s,
		RoleNeutronServer, RoleLocalController, RolePublisherService)
}

// checkSubscribeRole accepts the roles that publishers register as.
func checkSubscribeRole(s string) error {
	r, err := ParseRole(s)
	if err != nil {
		return fmt.Errorf("%w (want %s or %s)", ErrUnknownRole, RoleNeutronServer, RoleLocalController)
	}
	if r == RolePublisherService {
		return fmt.Errorf("the publisher service registers as %s; subscribe to %[1]s", RoleNeutronServer)
	}
	return nil
}

// RoleSettings are the resolved publisher/subscriber settings of a role.
type RoleSettings struct {
	Role Role
	// Section is the INI section the role's settings come from.
	Section string
	// RegisterAs is the role written in the NB DB publisher table.
	RegisterAs Role
	// PublisherPort and BindAddress are where the network publisher binds
	// (BindAddress may be "*"; see BindHost, ListenAddr, AdvertiseHost).
	PublisherPort int
	BindAddress   string
	// UseMultiproc: send events over IPC to the publisher service at
	// MultiprocSocket instead of publishing them on the network.
	UseMultiproc bool
	// MultiprocSocket is the IPC socket path. For RolePublisherService it is
	// the socket the service listens on for the neutron server's events.
	MultiprocSocket string
	// SubscribeRoles are the roles whose publishers this role subscribes to.
	SubscribeRoles []Role
	PubSubDriver   string // [df] pub_sub_driver
	// PubSubHosts are the broker addresses of a broker driver
	// (DFSettings.PubSubHosts).
	PubSubHosts      []string
	WireMode         string // [df] wire_mode: WireModeV2 or WireModeStrict
	ManagementIP     string // [df] management_ip
	PublisherTimeout time.Duration
	Host             string // [DEFAULT] host
}

// ForRole resolves the settings of role: RoleNeutronServer reads [neutron],
// RoleLocalController reads [controller], RolePublisherService reads
// [neutron] but never uses multiproc (it is the network publisher) and
// registers as RoleNeutronServer. This is the one place that maps a role to
// its section. The error wraps ErrUnknownRole for an unknown role.
func (c *Config) ForRole(role Role) (RoleSettings, error) {
	s := RoleSettings{Role: role, RegisterAs: role}
	switch role {
	case RoleNeutronServer, RolePublisherService:
		s.Section, s.RegisterAs = GroupNeutron, RoleNeutronServer
	case RoleLocalController:
		s.Section = GroupController
	default:
		_, err := ParseRole(string(role))
		return RoleSettings{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	s.PublisherPort = c.int(s.Section, OptPublisherPort)
	s.BindAddress = c.str(s.Section, OptPublisherBindingAddress)
	s.UseMultiproc = c.bool(s.Section, OptPubSubUseMultiproc) && role != RolePublisherService
	s.MultiprocSocket = c.str(s.Section, OptPublisherMultiprocSocket)
	for _, name := range c.list(s.Section, OptSubscribeRoles) {
		r, err := ParseRole(name)
		if err != nil {
			return RoleSettings{}, fmt.Errorf("config: [%s] %s: %w", s.Section, OptSubscribeRoles, err)
		}
		s.SubscribeRoles = append(s.SubscribeRoles, r)
	}
	s.PubSubDriver = c.str(GroupDF, OptPubSubDriver)
	if s.PubSubDriver != "zmq" {
		// The multiproc hop (PUSH/PULL over ipc to the publisher service)
		// exists only for zmq; with a broker every process publishes to the
		// broker itself, so there is no bind to share.
		s.UseMultiproc = false
	}
	s.PubSubHosts = c.list(GroupDF, OptPubSubHosts)
	if len(s.PubSubHosts) == 0 {
		s.PubSubHosts = c.list(GroupDF, OptRemoteDBHosts)
	}
	s.WireMode = c.str(GroupDF, OptWireMode)
	s.ManagementIP = c.ip(GroupDF, OptManagementIP).String()
	s.PublisherTimeout = c.duration(GroupDF, OptPublisherTimeout)
	s.Host = c.str(GroupDefault, OptHost)
	return s, nil
}

// isWildcard reports whether a binding address means "all interfaces".
func isWildcard(host string) bool {
	if host == "*" || host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

// AdvertiseHost is the host to put in the publisher URI registered in the
// NB DB: the binding address, or [df] management_ip when the publisher binds
// to all interfaces ("*", "", "0.0.0.0", "::"). It is a bare host: join it
// with the port using net.JoinHostPort (IPv6). The error wraps
// ErrNoAdvertiseAddress when the result is not a usable IP address.
func (s RoleSettings) AdvertiseHost() (string, error) {
	host := s.BindAddress
	if isWildcard(host) {
		host = s.ManagementIP
	}
	if a, err := netip.ParseAddr(host); err != nil || a.IsUnspecified() {
		return "", fmt.Errorf("config: %w for the %s publisher: [%s] %s is %q and [df] %s is %q; "+
			"set %s to an address of this host reachable by subscribers",
			ErrNoAdvertiseAddress, s.Role, s.Section, OptPublisherBindingAddress, s.BindAddress,
			OptManagementIP, s.ManagementIP, OptManagementIP)
	}
	return host, nil
}

// BindHost is the binding address for net.Listen: "*" becomes "" (Go's
// net.Listen rejects "*:8866").
func (s RoleSettings) BindHost() string {
	if s.BindAddress == "*" {
		return ""
	}
	return s.BindAddress
}

// ListenAddr is BindHost joined with PublisherPort, ready for net.Listen.
func (s RoleSettings) ListenAddr() string {
	return net.JoinHostPort(s.BindHost(), strconv.Itoa(s.PublisherPort))
}
