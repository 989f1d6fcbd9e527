package bench

import (
	"fmt"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
)

// Event sizes (baselines.md §2).
const (
	// EventSize is the payload size of every event, header included.
	EventSize = 300
	// rawHeaderLen is the reference header: seq (8), send time (8), kind (1).
	rawHeaderLen = 17
	// rawBlobLen is the msgpack DbUpdate blob after the reference header.
	rawBlobLen = EventSize - rawHeaderLen
	// publisherIDFormat names driver publishers; a fixed width keeps the
	// body size fixed.
	publisherIDFormat = "bench-%04d"
)

// The lport the events describe (any realistic port would do).
const (
	lportID    = "5a0b6a7e-4c1f-4b9e-9d0a-2f6c1e3b7d11"
	lportTopic = "2c1d1d4a8e7f4b1c9b3e6f0a5d7c8e9f"
)

// lportValue is the compact JSON of an lport whose "name" is pad bytes long.
func lportValue(pad int) []byte {
	return fmt.Appendf(nil, `{"id":"%s","topic":"%s","macs":["fa:16:3e:8c:2f:01"],"ips":["10.0.0.5"],"version":3,"name":"%s"}`,
		lportID, lportTopic, strings.Repeat("p", pad))
}

// sizedUpdate returns an lport update with action whose body, encoded with
// meta in mode, is exactly size bytes (or as close as the JSON allows).
func sizedUpdate(action string, size int, meta model.Meta, mode model.WireMode) model.DbUpdate {
	u := model.DbUpdate{Table: "lport", Key: lportID, Action: action, Topic: model.DefaultTopic}
	for pad := 0; ; pad++ {
		u.Value = lportValue(pad)
		if n := len(model.EncodeBody(u, meta, mode)); n >= size {
			return u
		}
	}
}

// typicalMeta is what a driver's sequencer stamps in the middle of a run:
// a fixed-width publisher id, a wall-clock epoch, a seq in uint32 range.
func typicalMeta() model.Meta {
	now := time.Now().UnixNano()
	return model.Meta{PublisherID: fmt.Sprintf(publisherIDFormat, 1), Epoch: uint64(now), Seq: 1 << 16, PublishTime: now}
}

// DriverUpdates returns the DbUpdates a Driver publishes for data and warm-up
// events. The data event's v2 body is EventSize bytes for a seq of 65536 or
// more (2-4 bytes less for smaller seqs, which msgpack encodes shorter).
// Warm-up events differ only in their action.
func DriverUpdates() (data, warmup model.DbUpdate) {
	data = sizedUpdate(model.ActionSet, EventSize, typicalMeta(), model.WireV2)
	warmup = data
	warmup.Action = model.ActionCreate
	return data, warmup
}

// kindOfUpdate tells DriverUpdates' warm-up events from data events.
func kindOfUpdate(u model.DbUpdate) Kind {
	if u.Action == model.ActionCreate {
		return KindWarmup
	}
	return KindData
}

// RawTemplate returns the reference payload: a zeroed 17-byte header
// followed by the 283-byte strict msgpack body of the same lport update.
// The reference copies it into a fresh buffer for every publish.
func RawTemplate() []byte {
	u := sizedUpdate(model.ActionSet, rawBlobLen, model.Meta{}, model.WireStrict)
	out := make([]byte, rawHeaderLen, EventSize)
	return append(out, model.EncodeBody(u, model.Meta{}, model.WireStrict)...)
}
