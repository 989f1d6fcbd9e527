package config

// Names of the [df] options.
const (
	GroupDF                                = "df"
	OptPubSubDriver                        = "pub_sub_driver"
	OptNBDBDriver                          = "nb_db_driver"
	OptRemoteDBHosts                       = "remote_db_hosts"
	OptManagementIP                        = "management_ip"
	OptPublisherTimeout                    = "publisher_timeout"
	OptDBSyncTime                          = "db_sync_time"
	OptEnableSelectiveTopologyDistribution = "enable_selective_topology_distribution"
	OptEnableNeutronNotifier               = "enable_neutron_notifier"
	OptWireMode                            = "wire_mode"
	OptPubSubHosts                         = "pub_sub_hosts"
)

// Values of [df] wire_mode.
const (
	// WireModeV2 sends the pub/sub v2 extension keys (sequence, epoch,
	// publisher id) in the msgpack event body.
	WireModeV2 = "v2"
	// WireModeStrict omits them: the body is exactly Dragonflow's.
	WireModeStrict = "strict"
)

const leaseNotTimestamp = "publisher liveness is an NB DB lease kept alive by the " +
	"process (see [df] publisher_timeout), not a rate-limited timestamp"

func dfGroup() groupDef {
	return groupDef{
		Group: Group{Name: GroupDF, Help: "Options shared by every Dragonflow process."},
		opts: []Opt{
			{
				Name: OptPubSubDriver, Kind: KindStr, Default: "zmq",
				Help: "Pub/sub driver used to publish and receive NB DB change events " +
					"(a name registered by a pubsub driver package, e.g. zmq, etcd, redis).",
			},
			{
				Name: OptNBDBDriver, Kind: KindStr, Default: "etcd",
				Help: "Driver of the northbound database (a name registered by an nb driver package).",
			},
			{
				Name: OptRemoteDBHosts, Kind: KindList, Default: "127.0.0.1:2379",
				Help: "NB DB cluster members as host:port pairs (or driver-specific URLs).",
			},
			{
				Name: OptPubSubHosts, Kind: KindList, Default: "",
				Help: "Broker addresses of a broker pub/sub driver (etcd, redis, nats) as host:port " +
					"pairs or driver URLs. Empty: remote_db_hosts, as in Dragonflow, where the " +
					"broker was the NB DB. Unused by zmq.",
			},
			{
				Name: OptManagementIP, Kind: KindIP, Default: "127.0.0.1",
				Help: "Management IP of this host. Publishers advertise it in the publisher " +
					"table when they bind to all interfaces.",
			},
			{
				Name: OptPublisherTimeout, Kind: KindSeconds, Default: "30", Min: intp(1),
				Help: "TTL of the NB DB lease that keeps this process's row in the publisher " +
					"table. The lease is kept alive while the process runs; after the process " +
					"dies, its row vanishes within this TTL and subscribers drop the publisher.",
			},
			{
				Name: OptDBSyncTime, Kind: KindSeconds, Default: "120", Min: intp(1),
				Help: "Interval of the periodic full comparison between the local cache and the NB DB.",
			},
			{
				Name: OptEnableSelectiveTopologyDistribution, Kind: KindBool, Default: "false",
				Help: "When enabled, each controller subscribes only to the topics (tenants) " +
					"relevant to its local ports instead of receiving the whole topology.",
			},
			{
				Name: OptEnableNeutronNotifier, Kind: KindBool, Default: "false",
				Help: "Enable the notifier that reports port status changes from the " +
					"controllers to the neutron server.",
			},
			{
				Name: OptWireMode, Kind: KindStr, Default: WireModeV2,
				Choices: []string{WireModeV2, WireModeStrict},
				Help: "Event body format: v2 adds the pub/sub v2 extension keys (sequence, " +
					"epoch, publisher id) to the msgpack body; strict omits them, so the body " +
					"is exactly Dragonflow's and loss detection is not possible.",
			},
		},
		removed: []Removed{
			{OptName{GroupDF, "publishers_ips"}, "publishers are discovered from the NB DB " +
				"publisher table by role (pub/sub v2); see [neutron]/[controller] subscribe_roles"},
			{OptName{GroupDF, "pub_sub_multiproc_driver"}, "the IPC publisher is chosen by " +
				"[df] pub_sub_driver and the role's pub_sub_use_multiproc"},
			{OptName{GroupDF, "enable_df_pub_sub"}, "pub/sub is always on; choose the " +
				"driver with [df] pub_sub_driver"},
			{OptName{GroupDF, "publisher_transport"}, "the transport is part of " +
				"[df] pub_sub_driver"},
			{OptName{GroupDF, "publisher_rate_limit_timeout"}, leaseNotTimestamp},
			{OptName{GroupDF, "publisher_rate_limit_count"}, leaseNotTimestamp},
		},
	}
}
