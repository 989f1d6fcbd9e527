package model

// PortStatus is a row of table "portstatus": the status the local controller
// of Chassis last reported for a port bound there. The controller writes it
// (and publishes the status on a listener's topic); the neutron server's
// listener copies Status into the LogicalPort. Because the row is in the NB
// DB, a listener that missed the event (a reported gap, a restart) repairs
// the port by reading this table instead of waiting for the next change
// (design §4.5 rule 5). Dragonflow had no such row: a lost status event was
// lost for good.
type PortStatus struct {
	ID      string `json:"id"`      // the LogicalPort id
	Topic   string `json:"topic"`   // the port's project
	Status  string `json:"status"`  // PortStatusActive, PortStatusDown, ...
	Chassis string `json:"chassis"` // the reporting controller's host
	// Version increases with every report; a listener ignores a report
	// whose version is not newer than the one it applied.
	Version int64 `json:"version"`
	// Timestamp is when the controller saw the change, Unix seconds.
	Timestamp float64 `json:"timestamp"`
}

// Table implements Model.
func (*PortStatus) Table() string { return TablePortStatus }

// Key implements Model.
func (s *PortStatus) Key() string { return s.ID }

// ObjTopic implements Model.
func (s *PortStatus) ObjTopic() string { return s.Topic }

// GetVersion implements Versioned.
func (s *PortStatus) GetVersion() int64 { return s.Version }

// SetVersion implements Versioned.
func (s *PortStatus) SetVersion(v int64) { s.Version = v }

var _ Versioned = (*PortStatus)(nil)
