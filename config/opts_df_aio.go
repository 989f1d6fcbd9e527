package config

// Names of the [df_aio] options.
const (
	GroupDFAIO    = "df_aio"
	OptDataDir    = "data_dir"
	OptRestListen = "rest_listen"
)

func dfAIOGroup() groupDef {
	return groupDef{
		Group: Group{Name: GroupDFAIO, Help: "Options of the all-in-one launcher df-aio."},
		opts: []Opt{
			{
				Name: OptDataDir, Kind: KindStr, Default: "",
				Help: "Directory for the embedded etcd data, its socket and the config file " +
					"df-aio writes for other tools. When empty, df-aio uses dragonflow-aio " +
					"under the system temporary directory (os.TempDir), kept across runs so " +
					"the config file path stays the same; delete it to start afresh.",
			},
			{
				Name: OptRestListen, Kind: KindStr, Default: "127.0.0.1:9696",
				Check: checkHostPort, FormatHelp: "host:port",
				Help: "Address of the neutron server's REST API started by df-aio.",
			},
		},
	}
}
