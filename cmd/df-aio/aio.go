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

// aio is a running all-in-one.
type aio struct {
	opts       options
	out        io.Writer
	log        *slog.Logger
	srv        *embedded.Server
	db         nb.Driver
	configPath string
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelInfo
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

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
	if err := a.writeConfig(); err != nil {
		a.Close()
		return nil, err
	}
	a.banner(time.Since(began))
	return a, nil
}

// writeConfig writes the config file other tools use to find this NB DB.
func (a *aio) writeConfig() error {
	a.configPath = filepath.Join(a.opts.dataDir, "dragonflow.ini")
	body := fmt.Sprintf(`# Written by df-aio at %s. Pass it to other tools with --config-file.
[df]
nb_db_driver = etcd
remote_db_hosts = %s
`, time.Now().Format(time.RFC3339), strings.Join(a.srv.Endpoints(), ","))
	if err := os.WriteFile(a.configPath, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", a.configPath, err)
	}
	return nil
}

func (a *aio) banner(took time.Duration) {
	fmt.Fprintf(a.out, `df-aio: NB DB ready in %s
  endpoints: %s
  config:    %s
  try:       go run ./cmd/dfctl --config-file %s db ls
df-aio: running: embedded NB DB only; df-publisher-service, df-neutron-server and
        df-local-controller are not built yet and will join df-aio as they land.
df-aio: ready (Ctrl-C to stop)
`, took.Round(time.Millisecond), strings.Join(a.srv.Endpoints(), ", "), a.configPath, a.configPath)
}

// Wait prints status lines until ctx ends or the NB DB stops.
func (a *aio) Wait(ctx context.Context) error {
	tick := time.NewTicker(a.opts.statusInterval)
	defer tick.Stop()
	last, lastRev := "", int64(-1)
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(a.out, "df-aio: stopping")
			return nil
		case <-a.srv.Done():
			return fmt.Errorf("embedded NB DB stopped: %w", a.srv.Err())
		case <-tick.C:
			line, rev, err := a.status(ctx, lastRev)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("status", "err", err)
				}
				continue
			}
			lastRev = rev
			if line != "" && line != last {
				fmt.Fprintln(a.out, line)
				last = line
			}
		}
	}
}

// status summarises the NB DB: revision and rows per table. It reads the
// tables only when the revision moved past since; otherwise it returns "".
func (a *aio) status(ctx context.Context, since int64) (string, int64, error) {
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

// Close stops everything; idempotent through the parts' own Close.
func (a *aio) Close() error {
	var errs []error
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	if a.srv != nil {
		errs = append(errs, a.srv.Close())
	}
	return errors.Join(errs...)
}
