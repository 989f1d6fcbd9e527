package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/config"
)

type options struct {
	cfg              *config.Config
	configFiles      []string
	dataDir          string
	dbAddr           string
	restListen       string
	binDir           string
	pubSubDriver     string
	controllers      int
	apiWorkers       int
	selective        bool
	publisherTimeout time.Duration
	readyTimeout     time.Duration
	statusInterval   time.Duration
	demo             bool
	dbOnly           bool
	verbose          bool
	extraDF          string // extra [df] lines for the common config (tests)
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("df-aio", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	var (
		files config.FileList
		o     options
	)
	fs.Var(&files, "config-file", "configuration file to load (repeatable; later files override earlier ones); "+
		"also handed to every daemon, before the ports and hosts df-aio assigns")
	fs.StringVar(&o.dataDir, "data-dir", "", "directory for the NB DB data, configs, logs and sockets (default: [df_aio] data_dir)")
	fs.StringVar(&o.dbAddr, "db-addr", "", "loopback host:port the NB DB also listens on, besides its unix socket "+
		"(default: the first [df] remote_db_hosts entry when it is a loopback host:port, else 127.0.0.1:2379; port 0 picks a free port)")
	fs.StringVar(&o.restListen, "rest-listen", "", "host:port of the neutron server REST API (default: [df_aio] rest_listen, 127.0.0.1:9696)")
	fs.StringVar(&o.binDir, "bin-dir", os.Getenv("DF_BIN_DIR"), "directory holding df-publisher-service, df-neutron-server and "+
		"df-local-controller (default $DF_BIN_DIR, else next to df-aio, else built from this checkout)")
	fs.StringVar(&o.pubSubDriver, "pub-sub-driver", "", "pub/sub driver of every daemon (default: [df] pub_sub_driver, zmq)")
	fs.IntVar(&o.controllers, "controllers", 3, "number of local controllers (hosts compute-1 .. compute-N)")
	fs.IntVar(&o.apiWorkers, "api-workers", 2, "neutron server REST worker processes")
	fs.BoolVar(&o.selective, "selective", false, "turn on [df] enable_selective_topology_distribution")
	fs.DurationVar(&o.publisherTimeout, "publisher-timeout", 10*time.Second,
		"lease TTL of publisher and listener rows: how long a killed process stays listed")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 60*time.Second, "how long to wait for every daemon to register")
	fs.DurationVar(&o.statusInterval, "status-interval", 5*time.Second, "how often to print the status table when it changed")
	fs.BoolVar(&o.demo, "demo", false, "run the scripted demo scenario once everything is up, print its timeline, then stop; "+
		"the exit status is 0 only if every step passed")
	fs.BoolVar(&o.dbOnly, "db-only", false, "start only the embedded NB DB (no daemons)")
	fs.BoolVar(&o.verbose, "v", false, "log at debug level")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	cfg, err := config.Load(files, newLogger(stderr, o.verbose))
	if err != nil {
		return options{}, err
	}
	o.cfg = cfg
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return options{}, fmt.Errorf("--config-file %s: %w", f, err)
		}
		o.configFiles = append(o.configFiles, abs)
	}
	if o.dataDir == "" {
		o.dataDir = cfg.AIO().DataDir
	}
	if o.dataDir == "" {
		o.dataDir = filepath.Join(os.TempDir(), "dragonflow-aio")
	}
	if o.dataDir, err = filepath.Abs(o.dataDir); err != nil {
		return options{}, fmt.Errorf("--data-dir: %w", err)
	}
	if o.dbAddr == "" {
		o.dbAddr = defaultDBAddr(cfg.DF().RemoteDBHosts)
	}
	if _, _, err := net.SplitHostPort(o.dbAddr); err != nil {
		return options{}, fmt.Errorf("--db-addr %q: %w", o.dbAddr, err)
	}
	if o.restListen == "" {
		o.restListen = cfg.AIO().RestListen
	}
	if _, _, err := net.SplitHostPort(o.restListen); err != nil {
		return options{}, fmt.Errorf("--rest-listen %q: %w", o.restListen, err)
	}
	if o.pubSubDriver == "" {
		o.pubSubDriver = cfg.DF().PubSubDriver
	}
	if o.controllers < 1 || o.controllers > 64 {
		return options{}, fmt.Errorf("--controllers %d: want 1..64", o.controllers)
	}
	if o.apiWorkers < 1 {
		return options{}, fmt.Errorf("--api-workers %d: want at least 1", o.apiWorkers)
	}
	if o.publisherTimeout < time.Second {
		return options{}, fmt.Errorf("--publisher-timeout %s: want at least 1s", o.publisherTimeout)
	}
	return o, nil
}

// defaultDBAddr listens where the configuration already points, so dfctl with
// default settings finds the all-in-one's NB DB.
func defaultDBAddr(hosts []string) string {
	for _, h := range hosts {
		if strings.HasPrefix(h, "unix:") {
			continue
		}
		host, _, err := net.SplitHostPort(h)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
			return h
		}
	}
	return "127.0.0.1:2379"
}
