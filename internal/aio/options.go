// Package aio runs a whole dragonflow-go control plane on one machine: an
// embedded NB DB, optionally a broker, the publisher service, neutron
// server(s) and local controllers as child processes with generated configs.
// cmd/df-aio is its command line; the e2e tests drive it directly to kill,
// restart and inspect processes.
package aio

import (
	"log/slog"
	"time"
)

// Options describe one all-in-one. The zero value of a field means its
// default (see cmd/df-aio's flags).
type Options struct {
	// ConfigFiles are handed to every daemon, after the common config and
	// before the per-process one (ports, host).
	ConfigFiles []string
	DataDir     string // required
	DBAddr      string // loopback host:port of the NB DB besides its socket; "127.0.0.1:0" picks one
	RestListen  string // host:port of the first neutron server's REST API
	BinDir      string // where the daemon binaries are; "" finds or builds them
	// PubSubDriver of every daemon; "" is zmq.
	PubSubDriver string
	// Controllers is the number of local controllers (compute-1..N).
	Controllers int
	// NeutronServers is the number of neutron servers (hosts neutron-1..N),
	// each with its REST API and listener; the first uses RestListen, the
	// others free ports. 0 means 1.
	NeutronServers   int
	APIWorkers       int
	Selective        bool
	PublisherTimeout time.Duration // lease TTL of publisher and listener rows
	DBSyncTime       time.Duration // [df] db_sync_time; 0 keeps the default
	ReadyTimeout     time.Duration
	StatusInterval   time.Duration
	// ControllerArgs, when set, returns extra command-line arguments for
	// the local controller named name (compute-N), e.g. --history-file.
	ControllerArgs func(name string) []string
	// ExtraDF are extra lines for the [df] section of the common config.
	ExtraDF string
	Logger  *slog.Logger
	// DBOnly starts the NB DB only.
	DBOnly bool
}

func (o *Options) defaults() {
	if o.PubSubDriver == "" {
		o.PubSubDriver = "zmq"
	}
	if o.Controllers == 0 {
		o.Controllers = 3
	}
	if o.NeutronServers == 0 {
		o.NeutronServers = 1
	}
	if o.APIWorkers == 0 {
		o.APIWorkers = 2
	}
	if o.PublisherTimeout == 0 {
		o.PublisherTimeout = 10 * time.Second
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	if o.StatusInterval == 0 {
		o.StatusInterval = 5 * time.Second
	}
	if o.RestListen == "" {
		o.RestListen = "127.0.0.1:9696"
	}
	if o.DBAddr == "" {
		o.DBAddr = "127.0.0.1:2379"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}
