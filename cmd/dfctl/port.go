package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/controller/portsource"
	psfake "github.com/dragonflow-go/dragonflow/controller/portsource/fake"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// controllerFlags are the flags every command that drives a host's local
// controller shares.
type controllerFlags struct {
	host   string
	asJSON bool
}

func (f *controllerFlags) add(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.host, "host", "", "the host ([DEFAULT] host) whose local controller to drive (required)")
	cmd.PersistentFlags().BoolVar(&f.asJSON, "json", false, "print the controller's JSON answer")
}

func newPortCmd(g *globals) *cobra.Command {
	f := &controllerFlags{}
	var port string
	cmd := &cobra.Command{
		Use:   "port up|down --host H --port ID",
		Short: "Bring a port up or down on a host's local controller (fake port source)",
		Long: `Tell the local controller of --host that port --port came up (its VM interface
appeared on the host) or went down, as the OVS port source would. The
controller must run with [controller] port_source = fake.

The controller then writes the port's status (ACTIVE or DOWN) to the NB DB
portstatus table and publishes it to one live neutron-server listener on
topic listener_<listener host>; with selective topology distribution, the
first local port of a tenant makes the controller follow the tenant.

The controller is found in the NB DB publisher table (its row, role
local-controller, names its admin endpoint); the NB DB comes from
--config-file or --remote-db-hosts.`,
		Example: `  dfctl port up --host compute-1 --port 6f1c…
  dfctl port down --host compute-1 --port 6f1c… --json`,
	}
	f.add(cmd)
	cmd.PersistentFlags().StringVar(&port, "port", "", "the logical port id (required)")
	for _, st := range []portsource.Status{portsource.StatusUp, portsource.StatusDown} {
		cmd.AddCommand(&cobra.Command{
			Use:   string(st) + " --host H --port ID",
			Short: fmt.Sprintf("Report port ID %s on host H", st),
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := required(f.host, "host", port, "port"); err != nil {
					return err
				}
				return g.withController(cmd.Context(), f.host, func(ctx context.Context, addr string) error {
					var res portsource.Result
					if err := admin.PostJSON(ctx, addr, "/port", psfake.Request{Port: port, Status: string(st)}, &res); err != nil {
						return fmt.Errorf("port %s on %s: %w", st, f.host, err)
					}
					return printPortResult(cmd.OutOrStdout(), f, res)
				})
			},
		})
	}
	return cmd
}

func printPortResult(w io.Writer, f *controllerFlags, res portsource.Result) error {
	if f.asJSON {
		return printJSON(w, res)
	}
	to := "sent to listener " + res.Listener
	if res.Listener == "" {
		to = "no live listener: written to the NB DB only"
	}
	_, err := fmt.Fprintf(w, "port %s on %s: %s (portstatus version %d), %s\n", res.Port, f.host, res.Status, res.Version, to)
	return err
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// required fails naming the first empty flag; pairs are value, name.
func required(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "" {
			return fmt.Errorf("--%s is required", pairs[i+1])
		}
	}
	return nil
}

// errNoController: no local controller of the host is registered.
var errNoController = errors.New("no local controller registered")

// withController finds the admin endpoint of host's local controller in
// the NB DB publisher table and runs fn with it.
func (g *globals) withController(ctx context.Context, host string, fn func(ctx context.Context, addr string) error) error {
	var addr string
	err := g.withDB(ctx, func(ctx context.Context, d nb.Driver) error {
		var err error
		addr, err = findController(ctx, d, host)
		return err
	})
	if err != nil {
		return err
	}
	return fn(ctx, addr)
}

// findController returns the admin address of host's local controller:
// the row of role local-controller and that host with the newest epoch (a
// restarted controller's old row lives until its lease ends).
func findController(ctx context.Context, d nb.Driver, host string) (string, error) {
	kvs, _, err := d.List(ctx, model.TablePublisher, "")
	if err != nil {
		return "", fmt.Errorf("list the publisher table: %w", err)
	}
	var best *model.Publisher
	hosts := map[string]bool{}
	for _, kv := range kvs {
		var p model.Publisher
		if json.Unmarshal(kv.Value, &p) != nil || p.Role != model.RoleLocalController {
			continue
		}
		hosts[p.Host] = true
		if p.Host == host && (best == nil || p.Epoch > best.Epoch) {
			best = &p
		}
	}
	if best == nil {
		registered := "none"
		if len(hosts) > 0 {
			registered = strings.Join(slices.Sorted(maps.Keys(hosts)), ", ")
		}
		return "", fmt.Errorf("%w for host %s; registered: %s", errNoController, host, registered)
	}
	if best.Admin == "" {
		return "", fmt.Errorf("the local controller of host %s (publisher %s) registered no admin endpoint", host, best.ID)
	}
	return best.Admin, nil
}
