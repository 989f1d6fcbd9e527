// Command dfctl is the operator's tool for a dragonflow-go deployment:
// configuration samples and a look into the NB DB.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/config"
	_ "github.com/dragonflow-go/dragonflow/drivers"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dfctl:", err)
		os.Exit(1)
	}
}

// globals are the persistent flags every subcommand shares.
type globals struct {
	configFiles   config.FileList
	remoteDBHosts []string
	nbDriver      string
	verbose       bool
	stderr        io.Writer
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{stderr: stderr}
	root := &cobra.Command{
		Use:   "dfctl",
		Short: "Inspect and operate a dragonflow-go control plane",
		Long: `dfctl talks to the NB database of a dragonflow-go deployment and prints
configuration samples.

The NB DB is found from the configuration files (--config-file, repeatable,
later files override earlier ones: [df] nb_db_driver and [df] remote_db_hosts),
or from --remote-db-hosts. With df-aio running, its defaults work as they are.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.Var(&g.configFiles, "config-file", "configuration file to load (repeatable; later files override earlier ones)")
	pf.StringSliceVar(&g.remoteDBHosts, "remote-db-hosts", nil, "override [df] remote_db_hosts (host:port or unix:///path, comma-separated)")
	pf.StringVar(&g.nbDriver, "nb-db-driver", "", "override [df] nb_db_driver (etcd, memory)")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log at debug level to stderr")
	root.AddCommand(newConfigCmd(g), newDBCmd(g), newBenchCmd(g),
		newPubCmd(g), newSubCmd(g), newPushCmd(g), newPullCmd(g),
		newPublishersCmd(g), newEventsCmd(g), newPublishCmd(g))
	root.AddCommand(newPortCmd(g), newActivePortCmd(g), newStatusCmd(g), newCurveCmd())
	return root
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

// loadConfig loads the configuration files and applies flag overrides.
func (g *globals) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(g.configFiles, g.logger())
	if err != nil {
		return nil, err
	}
	if len(g.remoteDBHosts) > 0 {
		if err := cfg.SetList("df", "remote_db_hosts", g.remoteDBHosts); err != nil {
			return nil, fmt.Errorf("--remote-db-hosts: %w", err)
		}
	}
	if g.nbDriver != "" {
		if err := cfg.Set("df", "nb_db_driver", g.nbDriver); err != nil {
			return nil, fmt.Errorf("--nb-db-driver: %w", err)
		}
	}
	return cfg, nil
}
