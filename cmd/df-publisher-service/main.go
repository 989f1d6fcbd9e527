// Command df-publisher-service runs the publisher service of a host
// (package pubservice): it takes the neutron-server workers' events from
// the ipc socket, publishes them on the network with role neutron-server,
// and relays the NB DB's chassis, publisher and activeport changes.
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
	"syscall"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/drivers"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubservice"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "df-publisher-service:", err)
		os.Exit(1)
	}
}

const usage = `Usage: df-publisher-service [--config-file FILE]... [--debug]

Runs the publisher service of this host, the one network publisher of the
neutron-server role:

  - binds a PULL socket on ipc://[neutron] publisher_multiproc_socket, where
    neutron-server workers with pub_sub_use_multiproc = True push their
    events, and re-publishes each on a PUB socket bound on
    tcp://[neutron] publisher_binding_address:publisher_port;
  - registers that publisher in the NB DB publisher table with role
    neutron-server, on a lease of [df] publisher_timeout seconds;
  - relays the changes of the NB DB tables chassis, publisher and activeport.

The NB DB is [df] nb_db_driver at [df] remote_db_hosts; [df] pub_sub_driver
must be zmq. Logs go to stderr. SIGINT or SIGTERM stops it cleanly: the
registration is revoked and the ipc socket removed. The exit status is 1
on a configuration or start error, and when the NB DB connection ends.

Flags:
`

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("df-publisher-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files config.FileList
	fs.Var(&files, "config-file", "configuration file to load (repeatable; later files override earlier ones)")
	debug := fs.Bool("debug", false, "log at debug level")
	adminListen := fs.String("admin-listen", "", "loopback host:port of the admin endpoint "+
		"(/healthz, /metrics, /status; default [neutron] publisher_service_admin_listen; port 0 picks a free port)")
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
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, err := config.Load(files, log)
	if err != nil {
		return err
	}
	settings, err := cfg.ForRole(config.RolePublisherService)
	if err != nil {
		return err
	}
	df := cfg.DF()
	if settings.PubSubDriver != "zmq" {
		return fmt.Errorf("[df] %s is %q: the publisher service serves the zmq multiproc socket; "+
			"with another driver the workers publish themselves", config.OptPubSubDriver, settings.PubSubDriver)
	}
	if *adminListen == "" {
		*adminListen = cfg.Neutron().PublisherServiceAdminListen
	}
	adm, err := admin.Listen(*adminListen, log)
	if err != nil {
		return fmt.Errorf("--admin-listen / [neutron] %s: %w", config.OptPublisherServiceAdminListen, err)
	}
	defer adm.Close()
	db, err := nb.Open(ctx, df.NBDBDriver, nb.Config{Hosts: df.RemoteDBHosts, Logger: log})
	if err != nil {
		return fmt.Errorf("[df] %s %s at %v: %w", config.OptNBDBDriver, df.NBDBDriver, df.RemoteDBHosts, err)
	}
	defer db.Close()
	zmqDriver, err := drivers.ZMQ(cfg, log)
	if err != nil {
		return err
	}
	svc, err := pubservice.New(ctx, pubservice.Config{
		DB: db, Settings: settings, PubSub: zmqDriver, Selective: df.EnableSelectiveTopologyDistribution, Logger: log,
		Admin: adm.Addr(),
	})
	if err != nil {
		return err
	}
	serveAdmin(adm, svc, settings)
	fmt.Fprintf(stderr, "df-publisher-service %s: publisher %s, ipc %s, admin %s\n",
		settings.Host, svc.Info().URI, svc.SocketURI(), adm.Addr())
	select {
	case <-ctx.Done():
		log.Info("stopping", "cause", context.Cause(ctx))
	case <-svc.Done():
	}
	closeErr := errors.Join(adm.Close(), svc.Close())
	if err := svc.Err(); err != nil {
		return err
	}
	return closeErr
}
