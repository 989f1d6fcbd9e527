package model

// DefaultTopic is Dragonflow's "send all" topic (SEND_ALL_TOPIC).
const DefaultTopic = "D"

// Actions carried by DbUpdate.
const (
	ActionCreate = "create"
	ActionSet    = "set"
	ActionDelete = "delete"
	// ActionUpdate is the port-status action: table "lport", value "ACTIVE"/"DOWN".
	ActionUpdate = "update"
	ActionLog    = "log"
	// Control actions: never obeyed from an unauthenticated remote peer.
	ActionSync         = "sync"
	ActionReinitialize = "reinitialize"
	ActionDBRestart    = "dbrestart"
)

// IsControlAction reports whether a is a control action (sync, reinitialize, dbrestart).
func IsControlAction(a string) bool {
	return a == ActionSync || a == ActionReinitialize || a == ActionDBRestart
}

// DbUpdate is one NB change notification, Dragonflow's db_common.DbUpdate.
// On the wire it is a msgpack map with the five keys table, key, action,
// value, topic (see codec.go).
type DbUpdate struct {
	Table  string
	Key    string // "" travels as msgpack nil (log events)
	Action string
	// Value is the object JSON (create/set), a status word (update), free text
	// (log), or nil (delete). nil travels as msgpack nil; a non-nil empty
	// slice travels as an empty string.
	Value []byte
	Topic string // "" travels as nil; publishers normally set DefaultTopic
}

// TopicOrDefault returns Topic, or DefaultTopic when it is empty.
func (u DbUpdate) TopicOrDefault() string {
	if u.Topic == "" {
		return DefaultTopic
	}
	return u.Topic
}

// Meta is the v2 extension carried as extra map keys in the body; Python
// Dragonflow ignores them because it reads the body by name. The zero Meta is
// "absent".
type Meta struct {
	PublisherID string // key "pub_id"
	Epoch       uint64 // key "epoch": changes on every publisher start
	Seq         uint64 // key "seq": per (publisher, epoch, topic), from 1
	PublishTime int64  // key "pub_ts": Unix nanoseconds at the publisher
}

// IsZero reports whether no extension key was present.
func (m Meta) IsZero() bool { return m == Meta{} }
