package aio

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

// server is the running embedded NB DB, nil between StopDB and StartDB.
func (a *AIO) server() *embedded.Server {
	a.srvMu.Lock()
	defer a.srvMu.Unlock()
	return a.srv
}

// StopDB stops the embedded NB DB, as an NB DB outage: the daemons and
// DB() stay, and see it unreachable until StartDB. Its data dir is kept.
func (a *AIO) StopDB() error {
	a.srvMu.Lock()
	defer a.srvMu.Unlock()
	if a.srv == nil {
		return errors.New("aio: the NB DB is not running")
	}
	// Restart on the resolved TCP address (the socket keeps its path), so
	// every client's endpoints stay valid.
	for _, ep := range a.srv.Endpoints() {
		if !strings.HasPrefix(ep, "unix://") {
			a.dbCfg.ClientAddr = ep
		}
	}
	err := a.srv.Close()
	a.srv = nil
	if err != nil {
		return fmt.Errorf("aio: stop the NB DB: %w", err)
	}
	return nil
}

// StartDB starts the NB DB stopped by StopDB again, on the same data dir,
// socket and TCP address; the clients reconnect on their own.
func (a *AIO) StartDB(ctx context.Context) error {
	a.srvMu.Lock()
	defer a.srvMu.Unlock()
	if a.srv != nil {
		return errors.New("aio: the NB DB is running")
	}
	srv, err := embedded.Start(ctx, a.dbCfg)
	if err != nil {
		return fmt.Errorf("aio: restart the NB DB in %s at %s: %w", a.dbCfg.DataDir, a.dbCfg.ClientAddr, err)
	}
	a.srv = srv
	return nil
}
