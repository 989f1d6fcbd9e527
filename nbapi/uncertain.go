package nbapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/pubservice"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// ReasonWriteUncertain is the reason of the resync marker an NbApi publishes
// after a write whose outcome it cannot know.
const ReasonWriteUncertain pubsub.GapReason = "write-uncertain"

// uncertainPublishTimeout bounds the marker's publish when the caller's ctx
// is already done (a cancelled request is one way to lose the outcome).
const uncertainPublishTimeout = 2 * time.Second

// outcomeUnknown reports whether a failed NB DB write may still have been
// applied: the NB DB went away (stopping, a lost leader, a timeout, a
// cancelled call) after it had the request. The driver's definite refusals
// are known not to have written anything.
func outcomeUnknown(err error) bool {
	return err != nil &&
		!errors.Is(err, nb.ErrExists) && !errors.Is(err, nb.ErrNotFound) &&
		!errors.Is(err, nb.ErrVersionConflict) && !errors.Is(err, nb.ErrClosed) &&
		!errors.Is(err, nb.ErrLeaseExpired)
}

// writeFailed handles the error of an NB DB write: when the write may
// have been applied although the call failed, subscribers are told to
// resync the object's topic (a df_resync marker, as the publisher service
// sends for a loss it detects). Without it such a write would be in the NB
// DB with no event, no sequence number and no gap: a silent loss until the
// periodic sync. An extra resync is harmless. It returns err.
func (a *NbApi) writeFailed(ctx context.Context, table, key, topic string, err error) error {
	if a.pub == nil || !outcomeUnknown(err) {
		return err
	}
	if !a.selective || topic == "" {
		topic = model.DefaultTopic
	}
	req := pubservice.ResyncRequest{Topic: topic, Reason: ReasonWriteUncertain, Origin: a.pub.Info().ID,
		OriginEpoch: a.pub.Info().Epoch}
	v, merr := json.Marshal(req)
	if merr != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), uncertainPublishTimeout)
	defer cancel()
	u := model.DbUpdate{Table: pubservice.ResyncTable, Key: topic, Action: pubservice.ResyncAction, Value: v, Topic: topic}
	if perr := a.pub.Publish(pctx, u); perr != nil {
		a.log.Error("NB DB write of unknown outcome, and the resync marker could not be published either; "+
			"subscribers repair it at their periodic sync", "table", table, "key", key, "err", err, "publish_err", perr)
		return err
	}
	a.metrics.uncertain.Inc()
	a.log.Warn("NB DB write of unknown outcome; published a resync marker for its topic",
		"table", table, "key", key, "topic", topic, "err", err)
	return err
}

// Replace writes m as the whole stored object — fields m leaves zero are
// cleared, unlike Update's merge — with a compare-and-swap on expectRev (the
// ModRevision the caller read), and publishes a "set" of it on its topic.
// The caller sets m's version. A moved row gives an error wrapping
// nb.ErrVersionConflict; a failed publish after the write one wrapping
// ErrNotPublished.
func (a *NbApi) Replace(ctx context.Context, m model.Model, expectRev int64) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("nbapi: replace %s/%s: encode: %w", m.Table(), m.Key(), err)
	}
	if _, err := a.db.Update(ctx, m.Table(), m.Key(), data, expectRev); err != nil {
		return fmt.Errorf("nbapi: replace %s/%s: %w", m.Table(), m.Key(),
			a.writeFailed(ctx, m.Table(), m.Key(), m.ObjTopic(), err))
	}
	return a.publish(ctx, m.Table(), m.Key(), model.ActionSet, data, m.ObjTopic())
}
