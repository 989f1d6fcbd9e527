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
	cfg            *config.Config
	dataDir        string
	dbAddr         string
	statusInterval time.Duration
	verbose        bool
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
	fs.Var(&files, "config-file", "configuration file to load (repeatable; later files override earlier ones)")
	fs.StringVar(&o.dataDir, "data-dir", "", "NB DB data directory (default: [df_aio] data_dir)")
	fs.StringVar(&o.dbAddr, "db-addr", "", "loopback host:port the NB DB also listens on, besides its unix socket "+
		"(default: the first [df] remote_db_hosts entry when it is a loopback host:port, else 127.0.0.1:2379; port 0 picks a free port)")
	fs.DurationVar(&o.statusInterval, "status-interval", 5*time.Second, "how often to print a status line when something changed")
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
	if o.dataDir == "" {
		o.dataDir = cfg.Str("df_aio", "data_dir")
	}
	if o.dataDir == "" {
		o.dataDir = filepath.Join(os.TempDir(), "dragonflow-aio")
	}
	if o.dbAddr == "" {
		o.dbAddr = defaultDBAddr(cfg.DF().RemoteDBHosts)
	}
	if _, _, err := net.SplitHostPort(o.dbAddr); err != nil {
		return options{}, fmt.Errorf("--db-addr %q: %w", o.dbAddr, err)
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
