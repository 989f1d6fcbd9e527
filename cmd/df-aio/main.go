// Command df-aio runs a whole dragonflow-go control plane on one machine on an
// embedded NB DB (etcd). Today it starts the embedded NB DB and says so; the
// daemons join as they are built.
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

Runs dragonflow-go all-in-one on this machine, on an embedded NB DB (a
single-member etcd). Every other tool reaches the NB DB through the config
file df-aio writes into its data dir (printed at start).

Started today: the embedded NB DB. The daemons (df-publisher-service,
df-neutron-server, df-local-controller) join df-aio as they are built.

Flags:
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	aio, err := start(ctx, opts, stdout, stderr)
	if err != nil {
		return err
	}
	defer aio.Close()
	return aio.Wait(ctx)
}
