package pubservice

import (
	"encoding/json"
	"fmt"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Resync markers: how the service tells its subscribers that events of a
// topic were lost before they reached it (see the package doc).
const (
	// ResyncTable is the table of a resync marker. No NB table has that
	// name; the marker is never stored.
	ResyncTable = "df_resync"
	// ResyncAction is the action of a resync marker: a data action, never
	// the control action "sync".
	ResyncAction = model.ActionSet
	// AllTopics is the key of a marker that concerns every topic; it is
	// published on topic "D", which every Dragonflow subscriber subscribes.
	AllTopics = "*"
	// FirstContact is the ResyncRequest.Reason of a first event of a worker
	// on a topic whose seq is above 1 (see the package doc).
	FirstContact pubsub.GapReason = "first-contact"
)

// ResyncRequest is the value of a resync marker, as JSON.
type ResyncRequest struct {
	// Topic is the topic to resync; AllTopics for every topic.
	Topic string `json:"topic"`
	// Reason is the pubsub.GapReason the service detected, or FirstContact.
	Reason pubsub.GapReason `json:"reason"`
	// Origin and OriginEpoch name the worker whose events were lost; Origin
	// is "" when the PULL could not tell (an overflow of an unknown peer).
	Origin      string `json:"origin,omitempty"`
	OriginEpoch uint64 `json:"origin_epoch,omitempty"`
	// Expected and Got are the origin's seqs around the loss, when known.
	Expected uint64 `json:"expected,omitempty"`
	Got      uint64 `json:"got,omitempty"`
	// Lost is the number of events known lost; 0 when unknown.
	Lost uint64 `json:"lost,omitempty"`
	// Service is the publisher id of the service that detected the loss.
	Service string `json:"service"`
}

// update is the marker event for r.
func (r ResyncRequest) update() (model.DbUpdate, error) {
	v, err := json.Marshal(r)
	if err != nil {
		return model.DbUpdate{}, fmt.Errorf("pubservice: encode resync marker: %w", err)
	}
	topic := r.Topic
	if topic == AllTopics || topic == "" {
		topic = model.DefaultTopic
	}
	return model.DbUpdate{Table: ResyncTable, Key: r.Topic, Action: ResyncAction, Value: v, Topic: topic}, nil
}

// ParseResync reports whether u is a resync marker and decodes it. A marker
// whose value does not decode is still a marker (ok true): the request then
// names only the key's topic, which is what a consumer needs to act.
func ParseResync(u model.DbUpdate) (r ResyncRequest, ok bool) {
	if u.Table != ResyncTable || u.Action != ResyncAction {
		return ResyncRequest{}, false
	}
	if json.Unmarshal(u.Value, &r) != nil || r.Topic == "" {
		r.Topic = u.Key
	}
	if r.Topic == "" {
		r.Topic = AllTopics
	}
	return r, true
}
