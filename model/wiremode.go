package model

import "fmt"

// WireMode selects which keys the encoder writes into a body.
type WireMode int

const (
	// WireV2 (the zero value) writes the five Dragonflow keys and, when the
	// Meta is not zero, the v2 extension keys pub_id, epoch, seq and pub_ts.
	WireV2 WireMode = iota
	// WireStrict writes the five Dragonflow keys only, whatever the Meta.
	WireStrict
)

// String returns the configuration name of the mode: "v2" or "strict".
func (w WireMode) String() string {
	switch w {
	case WireV2:
		return "v2"
	case WireStrict:
		return "strict"
	default:
		return fmt.Sprintf("WireMode(%d)", int(w))
	}
}

// ParseWireMode parses a configuration value, "v2" or "strict" (exact,
// lower case).
func ParseWireMode(s string) (WireMode, error) {
	switch s {
	case "v2":
		return WireV2, nil
	case "strict":
		return WireStrict, nil
	default:
		return WireV2, fmt.Errorf("model: unknown wire mode %q (want \"v2\" or \"strict\")", s)
	}
}
