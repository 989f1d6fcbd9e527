package config

// Names of the [controller] options besides the shared publisher options.
const (
	GroupController = "controller"
	OptPortSource   = "port_source"
)

// Values of [controller] port_source.
const (
	PortSourceFake  = "fake"
	PortSourceOVSDB = "ovsdb"
)

func controllerGroup() groupDef {
	opts := publisherOpts(roleSection{
		roleDoc: "local controller",
		port:    "8867", multiproc: "false", subscribe: string(RoleNeutronServer),
		socket: "/var/run/dragonflow/controller-publisher.sock",
	})
	opts = append(opts, Opt{
		Name: OptPortSource, Kind: KindStr, Default: PortSourceFake,
		Choices: []string{PortSourceFake, PortSourceOVSDB},
		Help: "Where the local controller learns that ports are bound on this host: " +
			"fake (driven by dfctl port up/down) or ovsdb (the local OVSDB Interface table).",
	})
	opts = append(opts, controllerDaemonOpts()...)
	return groupDef{
		Group: Group{Name: GroupController, Help: "Pub/sub settings of the local controller " +
			"(role local-controller)."},
		opts: opts,
	}
}
