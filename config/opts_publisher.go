package config

// Names of the publisher/subscriber options that [neutron] and [controller]
// both have (the pub/sub v2 role sections).
const (
	OptPublisherPort            = "publisher_port"
	OptPublisherBindingAddress  = "publisher_binding_address"
	OptPubSubUseMultiproc       = "pub_sub_use_multiproc"
	OptPublisherMultiprocSocket = "publisher_multiproc_socket"
	OptSubscribeRoles           = "subscribe_roles"
)

// roleSection holds what differs between the role sections' shared options.
type roleSection struct {
	roleDoc                                         string
	port, multiproc, socket, subscribe              string
	deprecatedPort, deprecatedBind, deprecatedMulti []OptName
	deprecatedSocket                                []OptName
}

// publisherOpts are the options of one role section, in registration order.
func publisherOpts(s roleSection) []Opt {
	return []Opt{
		{
			Name: OptPublisherPort, Kind: KindPort, Default: s.port,
			Deprecated: s.deprecatedPort,
			Help:       "TCP port the network publisher of the " + s.roleDoc + " binds.",
		},
		{
			Name: OptPublisherBindingAddress, Kind: KindStr, Default: "*",
			Check: checkBindAddress, FormatHelp: `an IP address, or "*" for all interfaces`,
			Deprecated: s.deprecatedBind,
			Help: "Address the network publisher of the " + s.roleDoc + " binds. Recommended: " +
				"this host's management address, so the publisher is not reachable from tenant " +
				`or external networks. When it is "*" (all interfaces, the default for ` +
				"compatibility with Dragonflow), [df] management_ip is advertised in the publisher table.",
		},
		{
			Name: OptPubSubUseMultiproc, Kind: KindBool, Default: s.multiproc,
			Deprecated: s.deprecatedMulti,
			Help: "When true, the " + s.roleDoc + " sends its events over IPC to the local " +
				"publisher service, which publishes them on the network; when false, it " +
				"publishes them itself.",
		},
		{
			Name: OptPublisherMultiprocSocket, Kind: KindStr, Default: s.socket,
			Deprecated: s.deprecatedSocket,
			Help:       "Path of the IPC socket between the " + s.roleDoc + " and the publisher service.",
		},
		{
			Name: OptSubscribeRoles, Kind: KindList, Default: s.subscribe,
			Check: checkSubscribeRole, FormatHelp: "comma-separated roles: neutron-server, local-controller",
			Help: "Roles whose publishers the " + s.roleDoc + " subscribes to; they are " +
				"discovered from the NB DB publisher table.",
		},
	}
}
