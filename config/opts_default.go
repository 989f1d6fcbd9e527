package config

import "os"

// Names of the [DEFAULT] options.
const (
	GroupDefault = "DEFAULT"
	OptHost      = "host"
)

func defaultGroup() groupDef {
	return groupDef{
		Group: Group{Name: GroupDefault, Help: "Options not tied to one component."},
		opts: []Opt{{
			Name: OptHost, Kind: KindStr,
			dynamicDefault: hostname, SampleDefault: "<hostname>",
			Help: "Name of this host: the chassis name of the local controller and part of " +
				"the identity of every publisher and listener this host registers.",
		}},
	}
}

// hostname is the default of [DEFAULT] host, like oslo's socket.gethostname().
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}
