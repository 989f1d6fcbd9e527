package config

// GroupNeutron is the section of the neutron-server role, and of the
// publisher service that publishes on its behalf.
const GroupNeutron = "neutron"

func neutronGroup() groupDef {
	return groupDef{
		Group: Group{Name: GroupNeutron, Help: "Pub/sub settings of the neutron server " +
			"(role neutron-server) and of the publisher service that publishes for it."},
		opts: append(publisherOpts(roleSection{
			roleDoc: "neutron server",
			port:    "8866", multiproc: "true", subscribe: string(RoleLocalController),
			socket:           "/var/run/dragonflow/publisher.sock",
			deprecatedPort:   []OptName{{GroupDF, "publisher_port"}},
			deprecatedBind:   []OptName{{GroupDF, "publisher_bind_address"}},
			deprecatedMulti:  []OptName{{GroupDF, "pub_sub_use_multiproc"}},
			deprecatedSocket: []OptName{{"df_zmq", "ipc_socket"}, {GroupDF, "publisher_multiproc_socket"}},
		}), neutronDaemonOpts()...),
	}
}
