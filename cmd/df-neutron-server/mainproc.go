package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/neutron"
)

// mainProc is what the main process runs, in start order; stop closes in
// reverse: workers first, then the listener, the NB API, the admin
// endpoint and the API socket.
type mainProc struct {
	cfg     *config.Config
	log     *slog.Logger
	ln      net.Listener
	lnFile  *os.File
	adm     *admin.Server
	nb      *nbapi.NbApi
	lis     *neutron.Listener
	sup     *supervisor
	workers int
}

// runMain runs the main process until ctx ends (nil) or the listener
// stops on its own (its error).
func runMain(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable for the workers: %w", err)
	}
	m := &mainProc{cfg: cfg, log: log, workers: cfg.Neutron().APIWorkers}
	defer m.stop()
	if err := m.start(ctx, exe, args, stderr); err != nil {
		return err
	}
	select {
	case <-m.sup.Ready():
		fmt.Fprintf(stdout, "df-neutron-server: REST on http://%s, admin on %s, %d workers\n",
			m.ln.Addr(), m.adm.Addr(), m.workers)
	case <-ctx.Done():
	case <-m.lis.Done():
	}
	select {
	case <-ctx.Done():
		log.Info("stopping", "cause", context.Cause(ctx))
		return nil
	case <-m.lis.Done():
		return m.lis.Err()
	case <-m.adm.Done():
		return m.adm.Err()
	}
}

func (m *mainProc) start(ctx context.Context, exe string, args []string, stderr io.Writer) error {
	n := m.cfg.Neutron()
	df := m.cfg.DF()
	settings, err := m.cfg.ForRole(config.RoleNeutronServer)
	if err != nil {
		return err
	}
	if m.ln, err = net.Listen("tcp", n.APIListen); err != nil {
		return fmt.Errorf("[neutron] %s: %w", config.OptAPIListen, err)
	}
	if m.lnFile, err = m.ln.(*net.TCPListener).File(); err != nil {
		return fmt.Errorf("API socket: %w", err)
	}
	if m.adm, err = admin.Listen(n.AdminListen, m.log); err != nil {
		return fmt.Errorf("[neutron] %s: %w", config.OptAdminListen, err)
	}
	m.nb, err = nbapi.New(ctx, m.cfg, config.RoleNeutronServer, nbapi.WithLogger(m.log), nbapi.WithAdminAddr(m.adm.Addr()))
	if err != nil {
		return err
	}
	roles := make([]string, 0, len(settings.SubscribeRoles))
	for _, r := range settings.SubscribeRoles {
		roles = append(roles, string(r))
	}
	// The listener outlives ctx: stop closes it after the workers.
	m.lis, err = neutron.StartListener(context.WithoutCancel(ctx), neutron.ListenerConfig{
		Nb: m.nb, Host: settings.Host, Admin: m.adm.Addr(), SubscribeRoles: roles, TTL: df.PublisherTimeout,
		SyncInterval: df.DBSyncTime, Logger: m.log,
	})
	if err != nil {
		return err
	}
	m.sup = startSupervisor(ctx, exe, args, m.lnFile, m.workers, stderr, m.log)
	reg := m.adm.Registry()
	reg.MustRegister(neutron.NewAPICollector(m.sup.Snapshot), neutron.NewListenerCollector(m.lis.Stats))
	reg.MustRegister(m.nb.Collectors()...) // the listener's subscriber and the main process's publisher
	m.adm.SetStatus(m.status)
	m.adm.SetHealth(m.health)
	m.adm.Serve()
	return nil
}

// status is /status: events_out counts REST writes published by the
// workers, events_in port status events handled by the listener.
func (m *mainProc) status() admin.Status {
	api := m.sup.Snapshot()
	ls := m.lis.Stats()
	st := admin.Status{
		Role: string(config.RoleNeutronServer), Host: m.nb.Settings().Host, PID: os.Getpid(),
		EventsOut: api.WritesPublished, EventsIn: ls.Events, Gaps: ls.Gaps, Resyncs: ls.Reconciles,
		Detail: map[string]any{
			"api_address": m.ln.Addr().String(), "workers": m.sup.Workers(), "api": api, "listener": ls,
			"listener_topic": m.lis.Topic(), "listener_publishers": len(m.lis.Publishers()),
		},
	}
	if p := m.nb.Publisher(); p != nil {
		st.PublisherID, st.PublisherURI = p.Info().ID, p.Info().URI
	}
	fs := m.nb.FabricStats()
	st.Drops, st.LastGap, st.LastGapAt, st.LagMillis = fs.Drops, fs.LastGap, fs.LastGapAt, fs.LagMillis
	select {
	case <-m.sup.Ready():
		st.Ready = true
	default:
	}
	return st
}

// health fails while no worker is ready or after the listener stopped.
func (m *mainProc) health() error {
	select {
	case <-m.lis.Done():
		return fmt.Errorf("port status listener stopped: %w", m.lis.Err())
	default:
	}
	for _, w := range m.sup.Workers() {
		if w.Ready {
			return nil
		}
	}
	return errors.New("no REST worker is ready")
}

// stop closes what start opened, workers first.
func (m *mainProc) stop() {
	if m.sup != nil {
		m.sup.Close()
	}
	if m.lis != nil {
		if err := m.lis.Close(); err != nil {
			m.log.Warn("closing the listener", "err", err)
		}
	}
	if m.nb != nil {
		if err := m.nb.Close(); err != nil {
			m.log.Warn("closing the NB API", "err", err)
		}
	}
	if m.adm != nil {
		_ = m.adm.Close()
	}
	if m.lnFile != nil {
		_ = m.lnFile.Close()
	}
	if m.ln != nil {
		_ = m.ln.Close()
	}
}
