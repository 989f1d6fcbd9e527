// Command df-neutron-server runs the neutron-server role of a host: the
// Neutron v2.0-shaped REST API (package neutron) in worker processes that
// share one listening socket, and, in the main process, the port status
// listener of the host and the admin endpoint.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/config"
	_ "github.com/dragonflow-go/dragonflow/drivers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "df-neutron-server:", err)
		os.Exit(1)
	}
}

const long = `Runs the neutron-server role of this host.

The main process binds the REST API socket ([neutron] api_listen) once and
starts --api-workers worker processes (this binary again) that share it.
Each worker serves a Neutron v2.0-shaped REST API (networks, subnets, ports;
enough for the openstack CLI) and writes through its own NB API of role
neutron-server: with [neutron] pub_sub_use_multiproc = True (the default) it
publishes through the local df-publisher-service's IPC socket
([neutron] publisher_multiproc_socket); otherwise each process binds its own
publisher, the main process on [neutron] publisher_port and worker i on
publisher_port+i. A worker that dies is restarted with backoff; workers die
with the main process.

The main process also runs the port status listener of this host: the row
listener/<host> on an NB DB lease of [df] publisher_timeout, subscribed to
topic listener_<host> on the publishers of [neutron] subscribe_roles (found
in the NB DB publisher table), reconciling from the portstatus table on
every gap, new publisher and [df] db_sync_time. Its admin endpoint
([neutron] admin_listen) serves /healthz, /metrics and /status.

The NB DB is [df] nb_db_driver at [df] remote_db_hosts. Logs go to stderr.
When ready it prints one line on stdout:
  df-neutron-server: REST on http://ADDR, admin on ADDR, N workers
SIGINT or SIGTERM stops the workers, then the main process; the listener
row is revoked. The exit status is 1 on a configuration or start error.`

// flags are the command line options.
type flags struct {
	files       config.FileList
	apiListen   string
	apiWorkers  int
	adminListen string
	logLevel    string
	worker      int // hidden: > 0 in a worker process (its slot)
}

func newCommand(ctx context.Context, args []string, stdout, stderr io.Writer) *cobra.Command {
	var f flags
	cmd := &cobra.Command{
		Use:           "df-neutron-server [flags]",
		Short:         "Neutron-shaped REST API, port status listener and admin endpoint of the neutron-server role",
		Long:          long,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return start(ctx, cmd, f, args, stdout, stderr)
		},
	}
	cmd.SetOut(stderr)
	cmd.SetErr(stderr)
	fs := cmd.Flags()
	fs.Var(&f.files, "config-file", "configuration file to load (repeatable; later files override earlier ones)")
	fs.StringVar(&f.apiListen, "api-listen", "", "REST API host:port (overrides [neutron] api_listen; port 0 picks one)")
	fs.IntVar(&f.apiWorkers, "api-workers", 0, "number of REST worker processes, at least 1 (overrides [neutron] api_workers)")
	fs.StringVar(&f.adminListen, "admin-listen", "", "admin endpoint host:port (overrides [neutron] admin_listen; port 0 picks one)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.IntVar(&f.worker, workerFlag, 0, "internal: run as REST worker N (set by the main process)")
	_ = fs.MarkHidden(workerFlag)
	return cmd
}

// workerFlag is the hidden flag of a worker process.
const workerFlag = "worker"

// run runs the command with args; the ready line goes to stdout, logs and
// help to stderr. A clean stop (ctx ended) returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := newCommand(ctx, args, stdout, stderr)
	cmd.SetArgs(args)
	return cmd.Execute()
}

// start loads the configuration and runs the main or the worker process.
func start(ctx context.Context, cmd *cobra.Command, f flags, args []string, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if f.worker > 0 {
		log = log.With("worker", f.worker, "pid", os.Getpid())
	}
	cfg, err := config.Load(f.files, log)
	if err != nil {
		return err
	}
	fs := cmd.Flags()
	for _, o := range []struct{ flag, opt, value string }{
		{"api-listen", config.OptAPIListen, f.apiListen},
		{"api-workers", config.OptAPIWorkers, strconv.Itoa(f.apiWorkers)},
		{"admin-listen", config.OptAdminListen, f.adminListen},
	} {
		if !fs.Changed(o.flag) {
			continue
		}
		if err := cfg.Set(config.GroupNeutron, o.opt, o.value); err != nil {
			return fmt.Errorf("--%s: %w", o.flag, err)
		}
	}
	if f.worker > 0 {
		return runWorker(ctx, cfg, f.worker, log)
	}
	return runMain(ctx, cfg, workerArgs(args), stdout, stderr, log)
}

// workerArgs are the arguments a worker is started with: the main
// process's own (so it loads the same configuration), without --worker.
func workerArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--"+workerFlag || a == "-"+workerFlag {
			i++
			continue
		}
		if strings.HasPrefix(a, "--"+workerFlag+"=") {
			continue
		}
		out = append(out, a)
	}
	return out
}
