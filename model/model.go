package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Table names, as Dragonflow's table_name.
const (
	TablePublisher     = "publisher"
	TableListener      = "listener"
	TableChassis       = "chassis"
	TableLogicalSwitch = "lswitch"
	TableSubnet        = "lsubnet"
	TableLogicalPort   = "lport"
	TableActivePort    = "activeport"
	TablePortStatus    = "portstatus"
)

// Model is an NB object: a row of Table() at key Key(). Every model in this
// package implements it with pointer methods, which work on a nil pointer.
type Model interface {
	// Table is the NB table name, e.g. "lport".
	Table() string
	// Key is the row key, the object's id.
	Key() string
	// ObjTopic is the topic the object's events are published on when
	// selective topology distribution is on, or "" when the model has none
	// (its events then go to DefaultTopic).
	ObjTopic() string
}

// Versioned is a model with Dragonflow's Version mixin: a cached object is
// replaced only by one with a greater version.
type Versioned interface {
	Model
	GetVersion() int64
	SetVersion(int64)
}

// ErrUnknownTable is returned (wrapped) for a table with no registered model.
var ErrUnknownTable = errors.New("model: unknown table")

// registry maps every table to a constructor of its zero model.
var registry = map[string]func() Model{
	TablePublisher:     func() Model { return new(Publisher) },
	TableListener:      func() Model { return new(Listener) },
	TableChassis:       func() Model { return new(Chassis) },
	TableLogicalSwitch: func() Model { return new(LogicalSwitch) },
	TableSubnet:        func() Model { return new(Subnet) },
	TableLogicalPort:   func() Model { return new(LogicalPort) },
	TableActivePort:    func() Model { return new(ActivePort) },
	TablePortStatus:    func() Model { return new(PortStatus) },
}

// NewByTable returns a pointer to a new zero model of table, or false when
// the table has no model.
func NewByTable(table string) (Model, bool) {
	newModel, ok := registry[table]
	if !ok {
		return nil, false
	}
	return newModel(), true
}

// Tables returns the names of every table with a model, sorted. The slice is
// the caller's.
func Tables() []string {
	names := make([]string, 0, len(registry))
	for name := range registry {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// UnmarshalModel decodes an object's JSON (an event's Value or an NB row)
// into a new model of table. Unknown JSON fields are ignored, as jsonmodels
// does.
func UnmarshalModel(table string, data []byte) (Model, error) {
	m, ok := NewByTable(table)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownTable, table)
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("model: decode %s JSON: %w", table, err)
	}
	return m, nil
}
