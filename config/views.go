package config

import (
	"net/netip"
	"time"
)

// DFSettings are the [df] options, typed.
type DFSettings struct {
	PubSubDriver                        string
	NBDBDriver                          string
	RemoteDBHosts                       []string
	ManagementIP                        netip.Addr
	PublisherTimeout                    time.Duration // NB DB lease TTL of a publisher's row
	DBSyncTime                          time.Duration
	EnableSelectiveTopologyDistribution bool
	EnableNeutronNotifier               bool
	WireMode                            string // WireModeV2 or WireModeStrict
	// PubSubHosts are the broker addresses of a broker pub/sub driver:
	// [df] pub_sub_hosts, or remote_db_hosts when that is empty.
	PubSubHosts []string
}

// DF returns the [df] options.
func (c *Config) DF() DFSettings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d := DFSettings{
		PubSubDriver:                        c.str(GroupDF, OptPubSubDriver),
		NBDBDriver:                          c.str(GroupDF, OptNBDBDriver),
		RemoteDBHosts:                       c.list(GroupDF, OptRemoteDBHosts),
		ManagementIP:                        c.ip(GroupDF, OptManagementIP),
		PublisherTimeout:                    c.duration(GroupDF, OptPublisherTimeout),
		DBSyncTime:                          c.duration(GroupDF, OptDBSyncTime),
		EnableSelectiveTopologyDistribution: c.bool(GroupDF, OptEnableSelectiveTopologyDistribution),
		EnableNeutronNotifier:               c.bool(GroupDF, OptEnableNeutronNotifier),
		WireMode:                            c.str(GroupDF, OptWireMode),
		PubSubHosts:                         c.list(GroupDF, OptPubSubHosts),
	}
	if len(d.PubSubHosts) == 0 {
		d.PubSubHosts = d.RemoteDBHosts
	}
	return d
}

// Host returns [DEFAULT] host.
func (c *Config) Host() string { return c.Str(GroupDefault, OptHost) }

// PortSource returns [controller] port_source: PortSourceFake or
// PortSourceOVSDB.
func (c *Config) PortSource() string { return c.Str(GroupController, OptPortSource) }

// AIOSettings are the [df_aio] options.
type AIOSettings struct {
	// DataDir is empty when df-aio should create (and remove) a temporary
	// directory under os.TempDir.
	DataDir    string
	RestListen string // host:port of the neutron server REST API
}

// AIO returns the [df_aio] options.
func (c *Config) AIO() AIOSettings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return AIOSettings{
		DataDir:    c.str(GroupDFAIO, OptDataDir),
		RestListen: c.str(GroupDFAIO, OptRestListen),
	}
}

// NeutronSettings are the [neutron] options of the df-neutron-server daemon
// and of the publisher service's admin endpoint.
type NeutronSettings struct {
	APIListen                   string // host:port of the REST API
	APIWorkers                  int    // REST worker processes
	AdminListen                 string // host:port of df-neutron-server's admin endpoint
	PublisherServiceAdminListen string // host:port of df-publisher-service's admin endpoint
}

// Neutron returns the [neutron] daemon options.
func (c *Config) Neutron() NeutronSettings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return NeutronSettings{
		APIListen:                   c.str(GroupNeutron, OptAPIListen),
		APIWorkers:                  c.int(GroupNeutron, OptAPIWorkers),
		AdminListen:                 c.str(GroupNeutron, OptAdminListen),
		PublisherServiceAdminListen: c.str(GroupNeutron, OptPublisherServiceAdminListen),
	}
}

// ControllerSettings are the [controller] daemon options of
// df-local-controller.
type ControllerSettings struct {
	AdminListen        string // host:port of the admin endpoint
	PortSource         string // PortSourceFake or PortSourceOVSDB
	ActivePortDetector string // ActivePortDetectorFake or ActivePortDetectorNone
	// ResyncJitter is the longest random delay before a gap-driven resync.
	ResyncJitter time.Duration
	// StateFile is where the controller keeps its resume snapshot ("": none).
	StateFile string
}

// Controller returns the [controller] daemon options.
func (c *Config) Controller() ControllerSettings {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return ControllerSettings{
		AdminListen:        c.str(GroupController, OptAdminListen),
		PortSource:         c.str(GroupController, OptPortSource),
		ActivePortDetector: c.str(GroupController, OptActivePortDetector),
		ResyncJitter:       c.duration(GroupController, OptResyncJitter),
		StateFile:          c.str(GroupController, OptStateFile),
	}
}
