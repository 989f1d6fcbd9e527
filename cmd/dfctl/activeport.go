package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/internal/admin"
)

func newActivePortCmd(g *globals) *cobra.Command {
	f := &controllerFlags{}
	var det activeport.Detection
	cmd := &cobra.Command{
		Use:   "activeport set|del --host H --network N --ip IP --port P [--mac M]",
		Short: "Report an active port on a host's local controller (fake detector)",
		Long: `Tell the local controller of --host that port --port now answers for the
allowed-address-pair IP --ip of network --network (set), or gave it up
(del), as its active port detection would on seeing ARP. The controller
must run with [controller] active_port_detector = fake.

set creates or updates the NB DB activeport row <network><ip> (topic: the
port's tenant; mac: --mac or the port's first MAC); del deletes it when
--port is the detected port. The controller writes and publishes it; the
publisher service relays it to the other controllers.

The controller is found in the NB DB publisher table, as for dfctl port.`,
		Example: `  dfctl activeport set --host compute-1 --network net1 --ip 10.0.0.100 --port p1
  dfctl activeport del --host compute-1 --network net1 --ip 10.0.0.100 --port p1`,
	}
	f.add(cmd)
	pf := cmd.PersistentFlags()
	pf.StringVar(&det.Network, "network", "", "the logical switch (network) id (required)")
	pf.StringVar(&det.IP, "ip", "", "the allowed-address-pair IP (required)")
	pf.StringVar(&det.Port, "port", "", "the logical port id that answers for it (required)")
	pf.StringVar(&det.MAC, "mac", "", "the MAC seen answering (set; default: the port's first MAC)")
	for _, action := range []activeport.Action{activeport.Set, activeport.Del} {
		cmd.AddCommand(&cobra.Command{
			Use:   string(action) + " --host H --network N --ip IP --port P",
			Short: fmt.Sprintf("Report active port %s", action),
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if err := required(f.host, "host", det.Network, "network", det.IP, "ip", det.Port, "port"); err != nil {
					return err
				}
				d := det
				d.Action = action
				return g.withController(cmd.Context(), f.host, func(ctx context.Context, addr string) error {
					var res activeport.Result
					if err := admin.PostJSON(ctx, addr, "/activeport", d, &res); err != nil {
						return fmt.Errorf("activeport %s on %s: %w", action, f.host, err)
					}
					return printActivePort(cmd.OutOrStdout(), f, res)
				})
			},
		})
	}
	return cmd
}

func printActivePort(w io.Writer, f *controllerFlags, res activeport.Result) error {
	if f.asJSON {
		return printJSON(w, res)
	}
	what := "unchanged"
	switch {
	case res.Changed && res.Action == activeport.Del:
		what = "deleted"
	case res.Changed:
		what = "written"
	}
	_, err := fmt.Fprintf(w, "activeport %s (network %s, ip %s) on %s: %s, port %s mac %s topic %s\n",
		res.ID, res.Network, res.IP, f.host, what, res.Port, dash(res.MAC), dash(res.Topic))
	return err
}
