// Command df-aio runs a whole dragonflow-go control plane on one machine: an
// embedded NB DB (etcd), the publisher service, df-neutron-server with its
// REST API and workers, and several df-local-controllers, each a real child
// process with a generated config. It prints a live status table, and with
// --demo runs a scripted scenario and exits with its verdict.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/dragonflow-go/dragonflow/internal/aio"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "df-aio:", err)
		os.Exit(1)
	}
}

const usage = `Usage: df-aio [flags]

Runs dragonflow-go all-in-one on this machine:

  - an embedded NB DB (a single-member etcd) in --data-dir, reachable on a
    unix socket and on --db-addr;
  - df-publisher-service (zmq driver: the workers' IPC socket, the
    network publisher of role neutron-server);
  - df-neutron-server: the Neutron-shaped REST API on --rest-listen
    (127.0.0.1:9696) with --api-workers worker processes, and the
    port-status listener of host "controller";
  - --controllers df-local-controllers, hosts compute-1 .. compute-N, with
    the fake port source (dfctl port up|down).

Each daemon is a child process with its config in <data-dir>/conf, its log
in <data-dir>/logs and free loopback ports. df-aio waits until every
publisher is registered, then prints a status table (role, publisher uri,
events in/out, gaps, resyncs) whenever it changes. The daemons come from
--bin-dir, from next to df-aio, or are built from this checkout.

--demo runs a scenario once everything is up and prints its timeline:
create a network and a port bound to compute-2 through REST; the port
reaches compute-2's cache; port up on compute-2 -> REST shows ACTIVE; port
down -> DOWN; delete -> gone from the cache. It exits 0 only if every step
passed, otherwise 1 naming the step.

Ctrl-C (SIGINT) or SIGTERM stops the controllers, the neutron server, the
publisher service and the NB DB, in that order. Children get SIGTERM if
df-aio itself is killed, so nothing is left behind.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	a, err := aio.Start(ctx, opts.Options, stdout)
	if err != nil {
		return err
	}
	if opts.demo {
		err := a.Demo(ctx)
		fmt.Fprintln(stdout, "df-aio: stopping")
		return errors.Join(err, a.Close())
	}
	werr := a.Wait(ctx)
	return errors.Join(werr, a.Close())
}
