package neutron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// heartbeat keeps the row listener/<host> (model.Listener) on an NB DB
// lease of the listener's TTL. Every beat keeps the lease alive and
// rewrites the row with a new timestamp, so the timestamp really tells
// when the listener was last alive (Dragonflow's HeartBeatReporter wrote
// an unchanged object, which its update() skipped: reference §5.2 item 5).
// A lease found gone is replaced by a new one. The row is not published:
// local controllers read the listener table when they pick a listener.
type heartbeat struct {
	l     *Listener
	db    nb.Driver
	mu    sync.Mutex
	lease nb.LeaseID
}

func startHeartbeat(ctx context.Context, l *Listener) (*heartbeat, error) {
	h := &heartbeat{l: l, db: l.nb.DB()}
	if err := h.register(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// register grants a new lease and writes the row on it.
func (h *heartbeat) register(ctx context.Context) error {
	lease, err := h.db.Grant(ctx, h.l.cfg.TTL)
	if err != nil {
		return fmt.Errorf("neutron: listener: grant lease: %w", err)
	}
	h.mu.Lock()
	h.lease = lease
	h.mu.Unlock()
	if err := h.write(ctx, lease); err != nil {
		_ = h.db.Revoke(context.WithoutCancel(ctx), lease)
		return err
	}
	return nil
}

func (h *heartbeat) write(ctx context.Context, lease nb.LeaseID) error {
	row := model.Listener{ID: h.l.cfg.Host, PPID: os.Getpid(), Timestamp: model.UnixSeconds(time.Now()),
		Admin: h.l.cfg.Admin}
	data, err := json.Marshal(&row)
	if err != nil {
		return fmt.Errorf("neutron: listener: encode row: %w", err)
	}
	if _, err := h.db.Put(ctx, model.TableListener, row.ID, data, nb.WithLease(lease)); err != nil {
		return fmt.Errorf("neutron: listener: write %s/%s: %w", model.TableListener, row.ID, err)
	}
	h.l.stats.heartbeats.Add(1)
	return nil
}

// beat keeps the lease alive and refreshes the timestamp; a lost lease is
// replaced.
func (h *heartbeat) beat(ctx context.Context) error {
	h.mu.Lock()
	lease := h.lease
	h.mu.Unlock()
	err := h.db.KeepAlive(ctx, lease)
	if errors.Is(err, nb.ErrLeaseExpired) {
		h.l.stats.leaseLost.Add(1)
		h.l.log.Warn("listener lease lost; registering again", "err", err)
		return h.register(ctx)
	}
	if err != nil {
		return fmt.Errorf("neutron: listener: keep lease alive: %w", err)
	}
	return h.write(ctx, lease)
}

// revoke ends the lease: the row disappears at once.
func (h *heartbeat) revoke() error {
	h.mu.Lock()
	lease := h.lease
	h.lease = 0
	h.mu.Unlock()
	if lease == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.db.Revoke(ctx, lease); err != nil && !errors.Is(err, nb.ErrLeaseExpired) && !errors.Is(err, nb.ErrClosed) {
		return fmt.Errorf("neutron: listener: revoke lease: %w", err)
	}
	return nil
}

// runHeartbeat is the heartbeat goroutine. Failures are logged and retried
// at the next beat (the TTL allows two misses).
func (l *Listener) runHeartbeat(ctx context.Context) {
	defer l.wg.Done()
	t := time.NewTicker(l.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.hb.beat(ctx); err != nil && ctx.Err() == nil {
				l.stats.heartbeatErrs.Add(1)
				l.log.Warn("listener heartbeat failed", "err", err)
			}
		}
	}
}
