package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/neutron"
)

// reportInterval is how often a worker reports its counters (and checks
// that its parent is alive).
const reportInterval = time.Second

// Worker file descriptors, set by the supervisor through ExtraFiles.
const (
	fdAPI    = 3 // the REST API listening socket, shared by every worker
	fdReport = 4 // the write end of the worker's report pipe
)

// errParentGone: the main process died; the worker stops.
var errParentGone = errors.New("main process gone")

// runWorker serves the REST API on the inherited socket with the
// worker's own NB API until ctx ends (SIGTERM from the main process) or
// the main process is gone.
func runWorker(ctx context.Context, cfg *config.Config, slot int, log *slog.Logger) error {
	ppid := os.Getppid()
	lnFile := os.NewFile(fdAPI, "api-socket")
	report := os.NewFile(fdReport, "report-pipe")
	if lnFile == nil || report == nil {
		return errors.New("--worker is set by df-neutron-server itself; it needs fds 3 and 4")
	}
	defer report.Close()
	ln, err := net.FileListener(lnFile)
	_ = lnFile.Close()
	if err != nil {
		return fmt.Errorf("worker %d: inherited API socket: %w", slot, err)
	}
	settings, err := cfg.ForRole(config.RoleNeutronServer)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if !settings.UseMultiproc {
		// Each process binds its own publisher: the main process has
		// publisher_port, worker i publisher_port+i.
		port := strconv.Itoa(settings.PublisherPort + slot)
		if err := cfg.Set(config.GroupNeutron, config.OptPublisherPort, port); err != nil {
			_ = ln.Close()
			return fmt.Errorf("worker %d: publisher_port %s: %w", slot, port, err)
		}
	}
	nb, err := nbapi.New(ctx, cfg, config.RoleNeutronServer, nbapi.WithLogger(log))
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer nb.Close()
	api, err := neutron.NewAPI(neutron.APIConfig{
		Nb:     nb,
		Worker: strconv.Itoa(os.Getpid()), Logger: log,
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	srv := neutron.Serve(ln, api, log)
	send := func() error {
		line, _ := json.Marshal(workerReport{PID: os.Getpid(), API: api.Stats().Snapshot()})
		_, err := report.Write(append(line, '\n'))
		return err
	}
	log.Info("worker serving", "addr", srv.Addr())
	err = watch(ctx, srv, send, ppid)
	closeErr := srv.Close()
	_ = send() // the last counters; fails harmlessly when the parent is gone
	if err != nil {
		return fmt.Errorf("worker %d: %w", slot, err)
	}
	return closeErr
}

// watch reports at once (the worker is ready) and every reportInterval
// until ctx ends, the server fails, or the parent is gone.
func watch(ctx context.Context, srv *neutron.Server, send func() error, ppid int) error {
	if err := send(); err != nil {
		return fmt.Errorf("%w: report: %w", errParentGone, err)
	}
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-srv.Done():
			return srv.Err()
		case <-t.C:
			if os.Getppid() != ppid {
				return errParentGone
			}
			if err := send(); err != nil {
				return fmt.Errorf("%w: report: %w", errParentGone, err)
			}
		}
	}
}
