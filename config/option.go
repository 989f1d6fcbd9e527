package config

import "fmt"

// Kind is the type of an option's value.
type Kind int

// The option types. Each Kind has one accessor on *Config.
const (
	KindStr     Kind = iota + 1 // string; read with Config.Str
	KindInt                     // integer; read with Config.Int
	KindBool                    // boolean; read with Config.Bool
	KindList                    // comma-separated strings; read with Config.List
	KindPort                    // TCP/UDP port 1-65535; read with Config.Int
	KindIP                      // IPv4/IPv6 literal; read with Config.IP
	KindSeconds                 // whole seconds; read with Config.Duration
)

// String is the type as written in the sample config, in oslo's words.
func (k Kind) String() string {
	switch k {
	case KindStr:
		return "string value"
	case KindInt:
		return "integer value"
	case KindBool:
		return "boolean value"
	case KindList:
		return "list value"
	case KindPort:
		return "port value"
	case KindIP:
		return "IP address value"
	case KindSeconds:
		return "integer value, in seconds"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// OptName names an option by group (INI section) and key.
type OptName struct {
	Group string
	Name  string
}

func (n OptName) String() string { return "[" + n.Group + "] " + n.Name }

// Opt describes one registered option. Options are registered in this
// package only; Options returns copies.
type Opt struct {
	Group string
	Name  string
	Kind  Kind
	// Default is the default as it would be written in a file; it is
	// validated like a file value when the registry is built.
	Default string
	// SampleDefault, when set, is shown in the sample config instead of
	// Default (for defaults computed at run time, such as the host name).
	SampleDefault string
	Help          string
	// Choices, for KindStr, are the only values allowed.
	Choices []string
	// Min and Max bound KindInt and KindSeconds values when not nil.
	Min, Max *int
	// Deprecated are former names that still work, with a warning.
	Deprecated []OptName
	// Check, when set, validates a KindStr value or each KindList item
	// after the type's own checks. FormatHelp describes what it accepts in
	// the sample config.
	Check      func(string) error
	FormatHelp string

	// dynamicDefault, when set, computes the default at load time.
	dynamicDefault func() string
}

// Key is the option's name as an OptName.
func (o *Opt) Key() OptName { return OptName{Group: o.Group, Name: o.Name} }

// Removed is a Dragonflow option that this implementation dropped on purpose.
// Setting it logs Reason once and has no other effect.
type Removed struct {
	OptName
	Reason string
}

// Group is a registered INI section.
type Group struct {
	Name string
	Help string
}

func intp(v int) *int { return &v }
