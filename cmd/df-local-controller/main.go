// Command df-local-controller runs the local controller of a compute host
// (package controller): it subscribes to the neutron-server publishers,
// keeps a versioned cache of the NB objects of its topics, reports the
// status of its ports to a neutron-server listener and writes the active
// ports it detects.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/controller"
	_ "github.com/dragonflow-go/dragonflow/drivers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "df-local-controller:", err)
		os.Exit(1)
	}
}

const usage = `Usage: df-local-controller [--config-file FILE]... [--admin-listen HOST:PORT] [--log-level LEVEL]
                           [--history-file PATH] [--state-file PATH]

Runs the local controller of this host ([DEFAULT] host is its chassis id):

  - binds its publisher on tcp://[controller] publisher_binding_address:
    publisher_port (8867) and registers it in the NB DB publisher table with
    role local-controller (and its admin address), on a lease of
    [df] publisher_timeout seconds;
  - registers its chassis {id: host, ip: [df] management_ip};
  - subscribes to topic D (and, with [df]
    enable_selective_topology_distribution, to the tenants of its local
    ports) on the publishers of [controller] subscribe_roles, found in the
    publisher table;
  - keeps a versioned cache of the NB objects of those topics: a full sync at
    start and every [df] db_sync_time seconds, a resync of a topic on every
    reported gap, resync marker or newly connected publisher;
  - reports its ports' status ([controller] port_source: fake = dfctl port
    up|down) to a live neutron-server listener, and writes the active ports
    it detects ([controller] active_port_detector: fake = dfctl activeport).

The admin endpoint ([controller] admin_listen, 127.0.0.1:9699) serves
/healthz, /metrics, /status, /cache, and POST /port and /activeport for the
fake port source and detector. Logs go to stderr; once ready one line
"df-local-controller HOST: publisher URI, admin ADDR" goes to stdout.
With --history-file, every delivered event and its outcome, every gap the
subscriber reports and every finished resync is appended to PATH as one
JSON line (kind "event", "gap", "resync"; "start" when the process starts),
written before the controller goes on, so a SIGKILL loses at most the line
being written (fault tests read it).
With --state-file (the [controller] state_file option), the controller keeps
its cache and, per publisher, epoch and topic, the last seq it applied in PATH
(written atomically every second when something changed, and at exit); a
restart with the same PATH loads it and resumes from the publishers' replay
buffers instead of downloading everything again (a resync only where the
replay cannot cover). A corrupt or foreign file is ignored with a warning.
SIGINT or SIGTERM stops it cleanly: its publisher row is revoked at once.
The exit status is 1 on a configuration or start error, and when a part of
the controller fails (subscriber, discovery, NB DB).

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("df-local-controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files config.FileList
	fs.Var(&files, "config-file", "configuration file to load (repeatable; later files override earlier ones)")
	adminListen := fs.String("admin-listen", "", "host:port of the admin endpoint, overriding [controller] admin_listen (port 0: any free port)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	stateFile := fs.String("state-file", "", "keep the resume state (cache + last applied seqs) in this file and resume from it at start")
	historyFile := fs.String("history-file", "", "append one JSON line per delivered event, gap and resync to this file (tests)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see --help)", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := config.Load(files, log)
	if err != nil {
		return err
	}
	if strings.TrimSpace(cfg.Host()) == "" {
		return fmt.Errorf("[%s] %s is empty: set it to this host's name (the chassis id)", config.GroupDefault, config.OptHost)
	}
	ccfg := controller.Config{Config: cfg, Logger: log, AdminListen: *adminListen, StateFile: *stateFile}
	if *historyFile != "" {
		h, err := openHistory(*historyFile, cfg.Host(), func(err error) { log.Warn("history", "err", err) })
		if err != nil {
			return err
		}
		defer h.Close()
		ccfg.OnEvent, ccfg.OnGap, ccfg.OnResync = h.onEvent, h.onGap, h.onResync
	}
	c, err := controller.New(ctx, ccfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "df-local-controller %s: publisher %s, admin %s\n", c.Host(), c.PublisherURI(), c.AdminAddr())
	select {
	case <-ctx.Done():
		log.Info("stopping", "cause", context.Cause(ctx))
	case <-c.Done():
	}
	closeErr := c.Close()
	if err := c.Err(); err != nil {
		return err
	}
	return closeErr
}
