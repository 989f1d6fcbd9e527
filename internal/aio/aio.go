package aio

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
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// stopGrace is how long a child gets between SIGTERM and SIGKILL.
const stopGrace = 10 * time.Second

// AIO is a running all-in-one: the embedded NB DB, optionally a broker, and
// the daemons as child processes. Start builds it; Close stops it.
type AIO struct {
	opts   Options
	out    io.Writer
	log    *slog.Logger
	srvMu  sync.Mutex // guards srv (StopDB, StartDB)
	srv    *embedded.Server
	dbCfg  embedded.Config // how srv was started, for StartDB
	db     nb.Driver
	layout *layout
	broker *Process // nats-server or redis-server for those drivers
	dfctl  string   // the dfctl binary, "" when not found (the demo then posts itself)
}

// Start brings everything up and returns once every daemon is registered
// and ready, or with an error naming what is not (then nothing is left
// running). Progress lines go to stdout.
func Start(ctx context.Context, o Options, stdout io.Writer) (*AIO, error) {
	o.defaults()
	a := &AIO{opts: o, out: stdout, log: o.Logger}
	began := time.Now()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	fmt.Fprintf(stdout, "df-aio: starting the embedded NB DB (etcd) in %s\n", o.DataDir)
	a.dbCfg = embedded.Config{
		DataDir:      filepath.Join(o.DataDir, "etcd"),
		ClientSocket: filepath.Join(o.DataDir, "etcd.sock"),
		ClientAddr:   o.DBAddr,
		Logger:       a.log.With("component", "etcd"),
	}
	srv, err := embedded.Start(ctx, a.dbCfg)
	if err != nil {
		return nil, fmt.Errorf("embedded NB DB (--db-addr %s, --data-dir %s): %w", o.DBAddr, o.DataDir, err)
	}
	a.srv = srv
	a.db, err = etcd.New(ctx, etcd.Options{Endpoints: srv.Endpoints(), Logger: a.log.With("component", "nb")})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("connect to the embedded NB DB: %w", err)
	}
	fmt.Fprintf(stdout, "df-aio: NB DB ready in %s at %s\n", time.Since(began).Round(time.Millisecond),
		strings.Join(srv.Endpoints(), ", "))
	if o.DBOnly {
		if err := a.writeDBOnlyConfig(); err != nil {
			a.Close()
			return nil, err
		}
		fmt.Fprintf(stdout, "df-aio: running the NB DB only (--db-only)\n  config:    %s\ndf-aio: ready (Ctrl-C to stop)\n",
			filepath.Join(o.DataDir, "dragonflow.ini"))
		return a, nil
	}
	if err := a.startDaemons(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.banner(time.Since(began))
	return a, nil
}

func (a *AIO) startDaemons(ctx context.Context) error {
	o := a.opts
	bins, err := locateBins(ctx, o.BinDir, o.DataDir, a.out)
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
	fmt.Fprintf(a.out, "df-aio: waiting until every publisher is registered (up to %s) ...\n", o.ReadyTimeout)
	return waitReady(ctx, a.db, a.layout, o.ReadyTimeout, a.out)
}

// writeDBOnlyConfig writes the config file other tools use to find the NB DB.
func (a *AIO) writeDBOnlyConfig() error {
	path := filepath.Join(a.opts.DataDir, "dragonflow.ini")
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

func (a *AIO) banner(took time.Duration) {
	l := a.layout
	fmt.Fprintf(a.out, `df-aio: all %d processes registered and ready in %s (pub/sub driver %s)
  REST API:  http://%s/  (openstack CLI: see README, clouds.yaml with auth_type none)
  config:    %s
  logs:      %s
  try:       dfctl --config-file %s publishers
             dfctl --config-file %s port up --host compute-2 --port PORT_ID
%s`, len(l.children), took.Round(time.Millisecond), a.opts.PubSubDriver, l.restAddr, l.commonPath,
		filepath.Join(l.dataDir, "logs"), l.commonPath, l.commonPath, a.statusNow(context.Background()))
	fmt.Fprintln(a.out, "df-aio: ready (Ctrl-C to stop)")
}

func (a *AIO) statusNow(ctx context.Context) string {
	rows := make([]childStatus, 0, len(a.layout.children))
	for _, c := range a.layout.children {
		rows = append(rows, pollStatus(ctx, c))
	}
	return statusTable(rows)
}

// Wait prints the status table whenever it changed, every status interval,
// until ctx ends or the NB DB stops. A child that exits on its own is
// reported once (with the end of its log) and the others keep running.
func (a *AIO) Wait(ctx context.Context) error {
	tick := time.NewTicker(a.opts.StatusInterval)
	defer tick.Stop()
	last := ""
	reported := map[*Process]bool{}
	var lastRev int64 = -1
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(a.out, "df-aio: stopping")
			return nil
		case <-a.server().Done():
			return fmt.Errorf("embedded NB DB stopped: %w", a.server().Err())
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
func (a *AIO) dbStatus(ctx context.Context, since int64) (string, int64, error) {
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
func (a *AIO) Close() error {
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
	if srv := a.server(); srv != nil {
		errs = append(errs, srv.Close())
	}
	return errors.Join(errs...)
}

// Processes are the daemons in start order (not the broker).
func (a *AIO) Processes() []*Process {
	if a.layout == nil {
		return nil
	}
	return append([]*Process(nil), a.layout.children...)
}

// Process returns the daemon named name ("publisher-service",
// "neutron-server" or "neutron-N", "compute-N"), or nil.
func (a *AIO) Process(name string) *Process {
	if a.layout == nil {
		return nil
	}
	return a.layout.byName(name)
}

// ConfigPath is the common config file (for dfctl --config-file).
func (a *AIO) ConfigPath() string {
	if a.layout == nil {
		return filepath.Join(a.opts.DataDir, "dragonflow.ini")
	}
	return a.layout.commonPath
}

// RestAddr is the REST API of neutron host (neutron-1, ...).
func (a *AIO) RestAddr(host string) string {
	if a.layout == nil {
		return ""
	}
	return a.layout.restAddrs[host]
}

// DB is the all-in-one's connection to its NB DB (owned by the AIO).
func (a *AIO) DB() nb.Driver { return a.db }

// WaitReady waits, like Start, until every process is registered and ready
// (after a Restart, for instance).
func (a *AIO) WaitReady(ctx context.Context, timeout time.Duration) error {
	return waitReady(ctx, a.db, a.layout, timeout, a.out)
}
