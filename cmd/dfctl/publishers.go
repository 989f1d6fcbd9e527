package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

func newPublishersCmd(g *globals) *cobra.Command {
	var role string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "publishers [--role ROLE] [--json]",
		Short: "List the publishers registered in the NB DB: id, role, uri, host, pid, epoch, lease TTL left",
		Long: `List the rows of the NB DB publisher table: every registered publisher with its
id, role, uri, host, pid, epoch, lease and the time its lease has left.

A publisher's row lives on an NB DB lease of [df] publisher_timeout that the
process keeps alive; the row of a process that died goes when the TTL runs
out. The TTL left is asked from etcd; drivers that cannot tell it show "?"
(JSON: ttl_seconds null). Rows without a role (written by Python Dragonflow)
count as neutron-server, as discovery treats them.`,
		Example: `  dfctl publishers
  dfctl publishers --role local-controller --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role != "" && role != model.RoleNeutronServer && role != model.RoleLocalController {
				return fmt.Errorf("--role %q: want %s or %s", role, model.RoleNeutronServer, model.RoleLocalController)
			}
			return g.withDB(cmd.Context(), func(ctx context.Context, d nb.Driver) error {
				return listPublishers(ctx, cmd.OutOrStdout(), d, role, asJSON)
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "only publishers of this role (neutron-server, local-controller)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	return cmd
}

// publisherRow is one line of dfctl publishers.
type publisherRow struct {
	ID    string `json:"id"`
	Role  string `json:"role"`
	URI   string `json:"uri"`
	Host  string `json:"host,omitempty"`
	PID   int    `json:"pid,omitempty"`
	Epoch uint64 `json:"epoch,omitempty"`
	// Lease is the NB DB lease id in hex, "" for a row without lease.
	Lease string `json:"lease,omitempty"`
	// TTLSeconds is the time the lease has left; nil when unknown.
	TTLSeconds *int64 `json:"ttl_seconds"`
	// Invalid says why the row could not be decoded (it is listed anyway).
	Invalid string `json:"invalid,omitempty"`
}

func listPublishers(ctx context.Context, w io.Writer, d nb.Driver, role string, asJSON bool) error {
	kvs, rev, err := d.List(ctx, model.TablePublisher, "")
	if err != nil {
		return err
	}
	out := []publisherRow{}
	for _, kv := range kvs {
		r := decodePublisher(kv)
		if role != "" && r.Role != role {
			continue
		}
		if ttl, ok := leaseTTL(ctx, d, kv.Lease); ok {
			secs := int64(ttl / time.Second)
			r.TTLSeconds = &secs
		}
		out = append(out, r)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tURI\tHOST\tPID\tEPOCH\tLEASE\tTTL")
	for _, r := range out {
		ttl := "?"
		if r.TTLSeconds != nil {
			ttl = strconv.FormatInt(*r.TTLSeconds, 10) + "s"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Role, dash(r.URI), dash(r.Host),
			dash(itoa(uint64(max(r.PID, 0)))), dash(itoa(r.Epoch)), dash(r.Lease), ttl)
	}
	fmt.Fprintf(tw, "(%d publishers at revision %d)\n", len(out), rev)
	return tw.Flush()
}

// decodePublisher reads a publisher row; one that does not decode is
// listed under its key with the reason.
func decodePublisher(kv nb.KV) publisherRow {
	r := publisherRow{ID: kv.Key}
	if kv.Lease != 0 {
		r.Lease = fmt.Sprintf("%x", int64(kv.Lease))
	}
	var p model.Publisher
	if err := json.Unmarshal(kv.Value, &p); err != nil {
		r.Invalid = err.Error()
		return r
	}
	r.Role, r.URI, r.Host, r.PID, r.Epoch = p.Role, p.URI, p.Host, p.PID, p.Epoch
	if r.Role == "" {
		r.Role = model.RoleNeutronServer // Python Dragonflow's rows, as discovery reads them
	}
	return r
}

// leaseTTLer is an NB DB driver that can tell how long a lease has left.
// nb.Driver has no such call (liveness is the lease, nobody needs its
// TTL but an operator); a driver may implement this to be shown here.
type leaseTTLer interface {
	LeaseTTL(ctx context.Context, id nb.LeaseID) (time.Duration, error)
}

// etcdClient is the etcd driver, whose client can tell (TimeToLive).
type etcdClient interface {
	Client() *clientv3.Client
}

// leaseTTL is the time lease id has left, when the driver can tell.
func leaseTTL(ctx context.Context, d nb.Driver, id nb.LeaseID) (time.Duration, bool) {
	if id == 0 {
		return 0, false
	}
	switch v := d.(type) {
	case leaseTTLer:
		ttl, err := v.LeaseTTL(ctx, id)
		return ttl, err == nil
	case etcdClient:
		resp, err := v.Client().TimeToLive(ctx, clientv3.LeaseID(id))
		if err != nil || resp.TTL < 0 {
			return 0, false
		}
		return time.Duration(resp.TTL) * time.Second, true
	}
	return 0, false
}

// itoa formats n, "" for 0.
func itoa(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
