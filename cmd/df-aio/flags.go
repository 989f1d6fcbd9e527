package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/aio"
)

// options are the parsed flags: the all-in-one's Options plus what only the
// command uses.
type options struct {
	aio.Options
	cfg     *config.Config
	demo    bool
	verbose bool
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
	fs.StringVar(&o.DataDir, "data-dir", "", "directory for the NB DB data, configs, logs and sockets (default: [df_aio] data_dir)")
	fs.StringVar(&o.DBAddr, "db-addr", "", "loopback host:port the NB DB also listens on, besides its unix socket "+
		"(default: the first [df] remote_db_hosts entry when it is a loopback host:port, else 127.0.0.1:2379; port 0 picks a free port)")
	fs.StringVar(&o.RestListen, "rest-listen", "", "host:port of the neutron server REST API (default: [df_aio] rest_listen, 127.0.0.1:9696)")
	fs.StringVar(&o.BinDir, "bin-dir", os.Getenv("DF_BIN_DIR"), "directory holding df-publisher-service, df-neutron-server and "+
		"df-local-controller (default $DF_BIN_DIR, else next to df-aio, else built from this checkout)")
	fs.StringVar(&o.PubSubDriver, "pub-sub-driver", "", "pub/sub driver of every daemon (default: [df] pub_sub_driver, zmq)")
	fs.IntVar(&o.NeutronServers, "neutron-servers", 1, "number of neutron servers (hosts neutron-1 .. neutron-N), "+
		"each with its REST API (the first on --rest-listen) and port-status listener")
	fs.IntVar(&o.Controllers, "controllers", 3, "number of local controllers (hosts compute-1 .. compute-N)")
	fs.IntVar(&o.APIWorkers, "api-workers", 2, "neutron server REST worker processes")
	fs.BoolVar(&o.Selective, "selective", false, "turn on [df] enable_selective_topology_distribution")
	fs.DurationVar(&o.PublisherTimeout, "publisher-timeout", 10*time.Second,
		"lease TTL of publisher and listener rows: how long a killed process stays listed")
	fs.DurationVar(&o.ReadyTimeout, "ready-timeout", 60*time.Second, "how long to wait for every daemon to register")
	fs.DurationVar(&o.StatusInterval, "status-interval", 5*time.Second, "how often to print the status table when it changed")
	fs.BoolVar(&o.demo, "demo", false, "run the scripted demo scenario once everything is up, print its timeline, then stop; "+
		"the exit status is 0 only if every step passed")
	fs.BoolVar(&o.DBOnly, "db-only", false, "start only the embedded NB DB (no daemons)")
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
		o.ConfigFiles = append(o.ConfigFiles, abs)
	}
	if o.DataDir == "" {
		o.DataDir = cfg.AIO().DataDir
	}
	if o.DataDir == "" {
		o.DataDir = filepath.Join(os.TempDir(), "dragonflow-aio")
	}
	if o.DataDir, err = filepath.Abs(o.DataDir); err != nil {
		return options{}, fmt.Errorf("--data-dir: %w", err)
	}
	if o.DBAddr == "" {
		o.DBAddr = defaultDBAddr(cfg.DF().RemoteDBHosts)
	}
	if _, _, err := net.SplitHostPort(o.DBAddr); err != nil {
		return options{}, fmt.Errorf("--db-addr %q: %w", o.DBAddr, err)
	}
	if o.RestListen == "" {
		o.RestListen = cfg.AIO().RestListen
	}
	if _, _, err := net.SplitHostPort(o.RestListen); err != nil {
		return options{}, fmt.Errorf("--rest-listen %q: %w", o.RestListen, err)
	}
	if o.PubSubDriver == "" {
		o.PubSubDriver = cfg.DF().PubSubDriver
	}
	if o.Controllers < 1 || o.Controllers > 64 {
		return options{}, fmt.Errorf("--controllers %d: want 1..64", o.Controllers)
	}
	if o.APIWorkers < 1 {
		return options{}, fmt.Errorf("--api-workers %d: want at least 1", o.APIWorkers)
	}
	if o.PublisherTimeout < time.Second {
		return options{}, fmt.Errorf("--publisher-timeout %s: want at least 1s", o.PublisherTimeout)
	}
	if o.NeutronServers < 1 || o.NeutronServers > 16 {
		return options{}, fmt.Errorf("--neutron-servers %d: want 1..16", o.NeutronServers)
	}
	o.Logger = newLogger(stderr, o.verbose)
	return o, nil
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
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
