package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "One line per registered process: role, host, publisher, events in/out, gaps, drops, lag, last gap",
		Long: `Show every process registered in the NB DB publisher table, and every
port-status listener, with what its admin endpoint reports: ready or not,
events received and published, gaps detected, resyncs, drops, the
publish-to-apply lag of its latest event and its last gap.

Processes are found through the "admin" address in their publisher row; a
process that does not answer within --timeout is shown as "no answer"
(it may be dead and its lease not yet expired).`,
		Example: `  dfctl --config-file /tmp/dragonflow-aio/dragonflow.ini status
  dfctl status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withDB(cmd.Context(), func(ctx context.Context, d nb.Driver) error {
				rows, err := collectStatus(ctx, d, timeout)
				if err != nil {
					return err
				}
				return printStatus(cmd.OutOrStdout(), rows, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "how long to wait for each admin endpoint")
	return cmd
}

// statusRow is one process in dfctl status.
type statusRow struct {
	Publisher publisherRow  `json:"publisher"`
	Status    *admin.Status `json:"status,omitempty"`
	Error     string        `json:"error,omitempty"`
}

func collectStatus(ctx context.Context, d nb.Driver, timeout time.Duration) ([]statusRow, error) {
	kvs, _, err := d.List(ctx, model.TablePublisher, "")
	if err != nil {
		return nil, err
	}
	rows := make([]statusRow, 0, len(kvs))
	admins := make([]string, 0, len(kvs))
	seen := map[string]bool{}
	for _, kv := range kvs {
		var p model.Publisher
		_ = json.Unmarshal(kv.Value, &p)
		rows = append(rows, statusRow{Publisher: decodePublisher(kv)})
		admins = append(admins, p.Admin)
		seen[p.Admin] = p.Admin != ""
	}
	// Subscribers that publish nothing of their own on the network (a
	// neutron server whose workers go through the publisher service) are
	// found through their listener row.
	lkvs, _, err := d.List(ctx, model.TableListener, "")
	if err != nil {
		return nil, err
	}
	for _, kv := range lkvs {
		var l model.Listener
		if json.Unmarshal(kv.Value, &l) != nil || seen[l.Admin] {
			continue
		}
		seen[l.Admin] = l.Admin != ""
		rows = append(rows, statusRow{Publisher: publisherRow{ID: "listener/" + kv.Key, Role: model.RoleNeutronServer,
			Host: l.ID}})
		admins = append(admins, l.Admin)
	}
	done := make(chan struct{}, len(rows))
	for i := range rows {
		p := struct{ Admin string }{admins[i]}
		go func() { // one request per process, all at once; each bounded by timeout
			defer func() { done <- struct{}{} }()
			if p.Admin == "" {
				rows[i].Error = "no admin endpoint registered"
				return
			}
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			var st admin.Status
			if err := admin.GetJSON(cctx, p.Admin, "/status", &st); err != nil {
				rows[i].Error = "no answer: " + err.Error()
				return
			}
			rows[i].Status = &st
		}()
	}
	for range rows {
		<-done
	}
	sort.Slice(rows, func(a, b int) bool {
		ra, rb := rows[a].Publisher, rows[b].Publisher
		if ra.Role != rb.Role {
			return ra.Role > rb.Role // neutron-server first
		}
		return ra.Host < rb.Host
	})
	return rows, nil
}

func printStatus(w io.Writer, rows []statusRow, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tROLE\tPROCESS\tURI\tSTATE\tIN\tOUT\tGAPS\tRESYNCS\tDROPS\tLAG\tLAST GAP")
	for _, r := range rows {
		p := r.Publisher
		if r.Status == nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t%s\t%s\t\t\t\t\t\t\t\n", dash(p.Host), p.Role, dash(p.URI), r.Error)
			continue
		}
		st := r.Status
		state := "ready"
		if !st.Ready {
			state = "starting"
		}
		lag := "-"
		if st.LagMillis > 0 {
			lag = strconv.FormatFloat(st.LagMillis, 'f', 1, 64) + "ms"
		}
		last := "-"
		if st.LastGap != "" {
			last = st.LastGap
			if !st.LastGapAt.IsZero() {
				last += " (" + time.Since(st.LastGapAt).Round(time.Second).String() + " ago)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", dash(st.Host), p.Role, st.Role,
			dash(p.URI), state, st.EventsIn, st.EventsOut, st.Gaps, st.Resyncs, st.Drops, lag, last)
	}
	fmt.Fprintf(tw, "(%d processes)\n", len(rows))
	return tw.Flush()
}
