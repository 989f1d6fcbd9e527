package config

// Names of the daemon options: where each daemon serves its REST API and its
// loopback admin endpoint (/healthz, /metrics, /status, ...).
const (
	OptAPIListen                   = "api_listen"
	OptAPIWorkers                  = "api_workers"
	OptAdminListen                 = "admin_listen"
	OptPublisherServiceAdminListen = "publisher_service_admin_listen"
	OptActivePortDetector          = "active_port_detector"
	OptResyncJitter                = "resync_jitter"
	OptStateFile                   = "state_file"
)

// Values of [controller] active_port_detector.
const (
	ActivePortDetectorFake = "fake"
	ActivePortDetectorNone = "none"
)

// neutronDaemonOpts are the [neutron] options of df-neutron-server and of the
// publisher service's admin endpoint.
func neutronDaemonOpts() []Opt {
	return []Opt{
		{
			Name: OptAPIListen, Kind: KindStr, Default: "127.0.0.1:9696",
			Check: checkHostPort, FormatHelp: "host:port",
			Help: "Address the neutron server's REST API (Neutron v2.0-shaped) listens on.",
		},
		{
			Name: OptAPIWorkers, Kind: KindInt, Default: "1", Min: intp(1),
			Help: "Number of REST API worker processes sharing api_listen. Each publishes " +
				"through the publisher service when pub_sub_use_multiproc is true.",
		},
		{
			Name: OptAdminListen, Kind: KindStr, Default: "127.0.0.1:9697",
			Check: checkHostPort, FormatHelp: "host:port",
			Help: "Loopback address of the neutron server's admin endpoint (/healthz, " +
				"/metrics, /status). Port 0 picks a free port.",
		},
		{
			Name: OptPublisherServiceAdminListen, Kind: KindStr, Default: "127.0.0.1:9698",
			Check: checkHostPort, FormatHelp: "host:port",
			Help: "Loopback address of the publisher service's admin endpoint (/healthz, " +
				"/metrics, /status). Port 0 picks a free port.",
		},
	}
}

// controllerDaemonOpts are the [controller] options of df-local-controller.
func controllerDaemonOpts() []Opt {
	return []Opt{
		{
			Name: OptAdminListen, Kind: KindStr, Default: "127.0.0.1:9699",
			Check: checkHostPort, FormatHelp: "host:port",
			Help: "Loopback address of the local controller's admin endpoint (/healthz, " +
				"/metrics, /status, /cache, and the fake port source's /port and " +
				"/activeport actions used by dfctl). Port 0 picks a free port.",
		},
		{
			Name: OptActivePortDetector, Kind: KindStr, Default: ActivePortDetectorFake,
			Choices: []string{ActivePortDetectorFake, ActivePortDetectorNone},
			Help: "How the local controller detects which port answers for an allowed-address-pair " +
				"IP: fake (driven by dfctl activeport set/del) or none.",
		},
		{
			Name: OptResyncJitter, Kind: KindSeconds, Default: "1", Min: intp(0),
			Help: "Longest random delay before a resync asked for by a gap, a new or restarted publisher " +
				"or a resync marker, so that hundreds of controllers do not all resync at the same " +
				"moment after a publisher restart (requests for a topic merge meanwhile). 0: at once.",
		},
		{
			Name: OptStateFile, Kind: KindStr, Default: "",
			Help: "File where the local controller keeps a snapshot of its cache and of the last event it " +
				"applied from each publisher, so that after a restart it asks its publishers to replay what " +
				"it missed instead of downloading everything again. Empty: no snapshot (full sync at start).",
		},
	}
}
