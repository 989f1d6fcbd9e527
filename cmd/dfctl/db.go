package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/dragonflow-go/dragonflow/nb"
)

func newDBCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Read the NB database",
	}
	var topic string
	var values bool
	ls := &cobra.Command{
		Use:   "ls [TABLE]",
		Short: "List the tables, or the rows of TABLE",
		Long: `Without TABLE, list the tables that hold rows and how many.
With TABLE, list its rows: key, topic, version (NB DB mod revision) and lease.`,
		Example: `  dfctl db ls
  dfctl db ls publisher
  dfctl db ls lport --topic 3f2c... --values`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withDB(cmd.Context(), func(ctx context.Context, d nb.Driver) error {
				if len(args) == 0 {
					return listTables(ctx, cmd.OutOrStdout(), d)
				}
				return listRows(ctx, cmd.OutOrStdout(), d, args[0], topic, values)
			})
		},
	}
	ls.Flags().StringVar(&topic, "topic", "", "only rows whose JSON topic equals this")
	ls.Flags().BoolVar(&values, "values", false, "print each row's JSON value instead of a table")
	get := &cobra.Command{
		Use:     "get TABLE KEY",
		Short:   "Print one row's JSON value, indented",
		Example: "  dfctl db get chassis compute-1",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withDB(cmd.Context(), func(ctx context.Context, d nb.Driver) error {
				kv, err := d.Get(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return writeValue(cmd.OutOrStdout(), kv.Value)
			})
		},
	}
	cmd.AddCommand(ls, get)
	return cmd
}

// withDB opens the configured NB DB for one command.
func (g *globals) withDB(ctx context.Context, fn func(context.Context, nb.Driver) error) error {
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	df := cfg.DF()
	d, err := nb.Open(ctx, df.NBDBDriver, nb.Config{Hosts: df.RemoteDBHosts, Logger: g.logger()})
	if err != nil {
		return err
	}
	defer d.Close()
	return fn(ctx, d)
}

func listTables(ctx context.Context, w io.Writer, d nb.Driver) error {
	tables, err := d.Tables(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	for _, t := range tables {
		kvs, _, err := d.List(ctx, t, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\n", t, len(kvs))
	}
	return tw.Flush()
}

func listRows(ctx context.Context, w io.Writer, d nb.Driver, table, topic string, values bool) error {
	kvs, rev, err := d.List(ctx, table, topic)
	if err != nil {
		return err
	}
	if values {
		for _, kv := range kvs {
			if err := writeValue(w, kv.Value); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tTOPIC\tVERSION\tLEASE")
	for _, kv := range kvs {
		lease := "-"
		if kv.Lease != 0 {
			lease = fmt.Sprintf("%x", int64(kv.Lease))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", kv.Key, rowTopic(kv.Value), kv.ModRevision, lease)
	}
	fmt.Fprintf(tw, "(%d rows of %s at revision %d)\n", len(kvs), table, rev)
	return tw.Flush()
}

func rowTopic(v []byte) string {
	var t struct {
		Topic string `json:"topic"`
	}
	if json.Unmarshal(v, &t) != nil || t.Topic == "" {
		return "-"
	}
	return t.Topic
}

// writeValue prints JSON indented, anything else as it is.
func writeValue(w io.Writer, v []byte) error {
	var buf bytes.Buffer
	if json.Indent(&buf, v, "", "  ") != nil {
		buf.Reset()
		buf.Write(v)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
