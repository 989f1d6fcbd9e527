package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// stopGrace is how long a child gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// aio is a running all-in-one: the embedded NB DB, optionally a broker, and
// the daemons as child processes.
type aio struct {
	opts   options
	out    io.Writer
	log    *slog.Logger
	srv    *embedded.Server
	db     nb.Driver
	layout *layout
	broker *child // nats-server or redis-server for those drivers
	dfctl  string // the dfctl binary, "" when not found (the demo then posts itself)
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// start brings everything up and returns once every daemon is registered and
// ready (or with an error naming what is not).
func start(ctx context.Context, o options, stdout, stderr io.Writer) (*aio, error) {
	a := &aio{opts: o, out: stdout, log: newLogger(stderr, o.verbose)}
	began := time.Now()
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	fmt.Fprintf(stdout, "df-aio: starting the embedded NB DB (etcd) in %s\n", o.dataDir)
	srv, err := embedded.Start(ctx, embedded.Config{
		DataDir:      filepath.Join(o.dataDir, "etcd"),
		ClientSocket: filepath.Join(o.dataDir, "etcd.sock"),
		ClientAddr:   o.dbAddr,
		Logger:       a.log.With("component", "etcd"),
	})
	if err != nil {
		return nil, fmt.Errorf("embedded NB DB (--db-addr %s, --data-dir %s): %w", o.dbAddr, o.dataDir, err)
	}
	a.srv = srv
	a.db, err = etcd.New(ctx, etcd.Options{Endpoints: srv.Endpoints(), Logger: a.log.With("component", "nb")})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("connect to the embedded NB DB: %w", err)
	}
	fmt.Fprintf(stdout, "df-aio: NB DB ready in %s at %s\n", time.Since(began).Round(time.Millisecond),
		strings.Join(srv.Endpoints(), ", "))
	if o.dbOnly {
		if err := a.writeDBOnlyConfig(); err != nil {
			a.Close()
			return nil, err
		}
		fmt.Fprintf(stdout, "df-aio: running the NB DB only (--db-only)\n  config:    %s\ndf-aio: ready (Ctrl-C to stop)\n",
			filepath.Join(o.dataDir, "dragonflow.ini"))
		return a, nil
	}
	if err := a.startDaemons(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.banner(time.Since(began))
	return a, nil
}

func (a *aio) startDaemons(ctx context.Context) error {
	o := a.opts
	bins, err := locateBins(ctx, o.binDir, o.dataDir, a.out)
	if err != nil {
		return err
	}
	a.dfctl = bins["dfctl"]
	if err := a.startBroker(ctx); err != nil {
		return err
	}
	a.layout, err = plan(a.opts, a.srv.Endpoints(), bins)
	if err != nil {
		return err
	}
	// A socket left by a killed run would make the publisher service fail.
	_ = os.Remove(a.layout.socket)
	for _, c := range a.layout.children {
		if err := c.start(); err != nil {
			return err
		}
		fmt.Fprintf(a.out, "df-aio: started %-17s %-17s pid %-7d log %s\n", c.name, c.role, c.pid(), c.logPath)
	}
	fmt.Fprintf(a.out, "df-aio: waiting until every publisher is registered (up to %s) ...\n", o.readyTimeout)
	return waitReady(ctx, a.db, a.layout, o.readyTimeout, a.out)
}

// writeDBOnlyConfig writes the config file other tools use to find the NB DB.
func (a *aio) writeDBOnlyConfig() error {
	path := filepath.Join(a.opts.dataDir, "dragonflow.ini")
	body := fmt.Sprintf(`# Written by df-aio at %s. Pass it to other tools with --config-file.
[df]
nb_db_driver = etcd
remote_db_hosts = %s
`, time.Now().Format(time.RFC3339), strings.Join(a.srv.Endpoints(), ","))
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func (a *aio) banner(took time.Duration) {
	l := a.layout
	fmt.Fprintf(a.out, `df-aio: all %d processes registered and ready in %s (pub/sub driver %s)
  REST API:  http://%s/  (openstack CLI: see README, clouds.yaml with auth_type none)
  config:    %s
  logs:      %s
  try:       dfctl --config-file %s publishers
             dfctl --config-file %s port up --host compute-2 --port PORT_ID
%s`, len(l.children), took.Round(time.Millisecond), a.opts.pubSubDriver, l.restAddr, l.commonPath,
		filepath.Join(l.dataDir, "logs"), l.commonPath, l.commonPath, a.statusNow(context.Background()))
	fmt.Fprintln(a.out, "df-aio: ready (Ctrl-C to stop)")
}

func (a *aio) statusNow(ctx context.Context) string {
	rows := make([]childStatus, 0, len(a.layout.children))
	for _, c := range a.layout.children {
		rows = append(rows, pollStatus(ctx, c))
	}
	return statusTable(rows)
}

// Wait prints the status table whenever it changed, every status interval,
// until ctx ends or the NB DB stops. A child that exits on its own is
// reported once (with the end of its log) and the others keep running.
func (a *aio) Wait(ctx context.Context) error {
	tick := time.NewTicker(a.opts.statusInterval)
	defer tick.Stop()
	last := ""
	reported := map[*child]bool{}
	var lastRev int64 = -1
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(a.out, "df-aio: stopping")
			return nil
		case <-a.srv.Done():
			return fmt.Errorf("embedded NB DB stopped: %w", a.srv.Err())
		case <-tick.C:
		}
		if a.layout == nil {
			line, rev, err := a.dbStatus(ctx, lastRev)
			if err == nil && line != "" && line != last {
				fmt.Fprintln(a.out, line)
				last, lastRev = line, rev
			}
			continue
		}
		for _, c := range a.layout.children {
			if msg, ok := c.exitError(); ok && !reported[c] && !c.wasStopped() {
				reported[c] = true
				fmt.Fprintf(a.out, "df-aio: %s (%s) exited: %s; its log %s ends with:\n%s\n",
					c.name, c.role, msg, c.logPath, c.logTail(10))
			}
		}
		table := a.statusNow(ctx)
		if table != last {
			fmt.Fprintf(a.out, "df-aio: status at %s\n%s", time.Now().Format("15:04:05"), table)
			last = table
		}
	}
}

// dbStatus summarises the NB DB (--db-only): revision and rows per table,
// read only when the revision moved.
func (a *aio) dbStatus(ctx context.Context, since int64) (string, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rev, err := a.db.Revision(ctx)
	if err != nil || rev == since {
		return "", since, err
	}
	tables, err := a.db.Tables(ctx)
	if err != nil {
		return "", since, err
	}
	sort.Strings(tables)
	parts := make([]string, 0, len(tables))
	for _, t := range tables {
		kvs, _, err := a.db.List(ctx, t, "")
		if err != nil {
			return "", since, err
		}
		parts = append(parts, fmt.Sprintf("%s=%d", t, len(kvs)))
	}
	rows := "empty"
	if len(parts) > 0 {
		rows = strings.Join(parts, " ")
	}
	return fmt.Sprintf("df-aio: status: NB DB revision %d; rows: %s", rev, rows), rev, nil
}

// Close stops the daemons (controllers first, publisher service last), the
// broker and the NB DB. Idempotent through the parts' own Close.
func (a *aio) Close() error {
	var errs []error
	if a.layout != nil {
		errs = append(errs, stopAll(a.layout.children, stopGrace))
	}
	if a.broker != nil {
		errs = append(errs, a.broker.stop(stopGrace))
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	if a.srv != nil {
		errs = append(errs, a.srv.Close())
	}
	return errors.Join(errs...)
}
