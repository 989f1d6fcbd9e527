package model

import (
	"math"
	"time"

	"github.com/google/uuid"
)

// Publisher roles (design §4.3), stored in Publisher.Role. Python Dragonflow
// rows have no role.
const (
	RoleNeutronServer   = "neutron-server"
	RoleLocalController = "local-controller"
)

// Publisher is a row of table "publisher": one running publisher that
// subscribers may connect to. Dragonflow's fields are id, name, uri and
// last_activity_timestamp; role, host, pid and epoch are the v2 additions and
// are omitted when unset, so a Python-shaped publisher marshals exactly as
// Dragonflow stores it. It has no topic.
type Publisher struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"` // unused by Dragonflow
	Role string `json:"role,omitempty"`
	// URI is where subscribers connect, e.g. "tcp://10.0.0.1:8866"; never a
	// wildcard address.
	URI  string `json:"uri"`
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
	// Epoch changes on every start of the publisher (Meta.Epoch).
	Epoch uint64 `json:"epoch,omitempty"`
	// Admin is the host:port of the process's loopback admin endpoint.
	Admin string `json:"admin,omitempty"`
	// LastActivityTimestamp is Unix time in seconds (Python time.time()).
	LastActivityTimestamp float64 `json:"last_activity_timestamp"`
}

// Table implements Model.
func (*Publisher) Table() string { return TablePublisher }

// Key implements Model.
func (p *Publisher) Key() string { return p.ID }

// ObjTopic implements Model: publishers have no topic.
func (*Publisher) ObjTopic() string { return "" }

// Listener is a row of table "listener": the neutron-server port-status
// listener of one host, which subscribes to ListenerTopic(host).
type Listener struct {
	ID   string `json:"id"` // the host name
	PPID int    `json:"ppid"`
	// Timestamp is the last heartbeat, Unix time in seconds.
	Timestamp float64 `json:"timestamp"`
	// Admin is the host:port of the neutron server's admin endpoint (a v2
	// addition, omitted when unset), where dfctl status finds it.
	Admin string `json:"admin,omitempty"`
}

// Table implements Model.
func (*Listener) Table() string { return TableListener }

// Key implements Model.
func (l *Listener) Key() string { return l.ID }

// ObjTopic implements Model: "listener_<host>".
func (l *Listener) ObjTopic() string { return ListenerTopic(l.ID) }

// ListenerTopic is the topic the listener of host subscribes to, on which
// local controllers publish port status: "listener_<host>".
func ListenerTopic(host string) string { return "listener_" + host }

// Chassis is a row of table "chassis": one compute host. It has no topic.
type Chassis struct {
	ID             string   `json:"id"` // the controller's [DEFAULT] host
	IP             string   `json:"ip"`
	ExternalHostIP string   `json:"external_host_ip,omitempty"`
	TunnelTypes    []string `json:"tunnel_types,omitempty"`
}

// Table implements Model.
func (*Chassis) Table() string { return TableChassis }

// Key implements Model.
func (c *Chassis) Key() string { return c.ID }

// ObjTopic implements Model: chassis have no topic.
func (*Chassis) ObjTopic() string { return "" }

// PublisherUUID is Dragonflow's generate_publisher_uuid:
// uuid5(NAMESPACE_DNS, processName + "." + fqdn), e.g.
// PublisherUUID("MainProcess", "localhost"). It is stable across restarts
// and collides between hosts with the same FQDN; it exists for compatibility.
func PublisherUUID(processName, fqdn string) string {
	return uuid.NewSHA1(uuid.NameSpaceDNS, []byte(processName+"."+fqdn)).String()
}

// UnixSeconds converts t to the float seconds Dragonflow stores in
// timestamps (microsecond precision survives for present-day dates).
func UnixSeconds(t time.Time) float64 {
	return float64(t.UnixNano()) / float64(time.Second)
}

// FromUnixSeconds converts float seconds back to a time. NaN and values
// beyond the int64 nanosecond range give the zero time.
func FromUnixSeconds(s float64) time.Time {
	ns := s * float64(time.Second)
	if math.IsNaN(ns) || ns >= math.MaxInt64 || ns < math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}
