package config

import (
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Config holds a value for every registered option. Build it with Load,
// Parse or New; the zero value is not usable. It is safe for concurrent use.
type Config struct {
	log *slog.Logger

	mu     sync.RWMutex
	values map[OptName]any // typed, see parseValue
	warned map[string]bool // warnings already logged, see warnOnce
}

// New returns a Config holding the defaults. A nil logger discards warnings.
func New(logger *slog.Logger) *Config {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Config{log: logger, values: make(map[OptName]any, len(reg.opts)), warned: map[string]bool{}}
	for _, o := range reg.opts {
		def := o.Default
		if o.dynamicDefault != nil {
			def = o.dynamicDefault()
		}
		v, err := parseValue(o, def)
		if err != nil { // buildRegistry checked every default
			panic(fmt.Sprintf("config: default of %s: %v", o.Key(), err))
		}
		c.values[o.Key()] = v
	}
	return c
}

// Set overrides one option, validated like a file value (for daemons' flags
// and for tests). group and name must be the current name, not a deprecated
// one. The error wraps ErrUnknownOption, or is a *ValueError with File "".
func (c *Config) Set(group, name, value string) error {
	o := reg.byName[OptName{group, name}]
	if o == nil {
		return fmt.Errorf("config: [%s] %s: %w", group, name, ErrUnknownOption)
	}
	value = normalizeValue(value)
	v, err := parseValue(o, value)
	if err != nil {
		return &ValueError{Section: group, Key: name, Value: value, Err: err}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values[o.Key()] = v
	return nil
}

// SetList overrides a KindList option with items, validated like a file
// value. Items are trimmed and empty ones dropped; an item holding a comma
// or newline becomes several items, as it would in a file.
func (c *Config) SetList(group, name string, items []string) error {
	if o := reg.byName[OptName{group, name}]; o != nil && o.Kind != KindList {
		return fmt.Errorf("config: [%s] %s is a %s, not a list", group, name, o.Kind)
	}
	return c.Set(group, name, strings.Join(items, ","))
}

// Str returns a KindStr option. Like every accessor, it panics if the
// option is not registered or is of another kind (a programming error).
func (c *Config) Str(group, name string) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.str(group, name)
}

// Int returns a KindInt or KindPort option.
func (c *Config) Int(group, name string) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.int(group, name)
}

// Bool returns a KindBool option.
func (c *Config) Bool(group, name string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bool(group, name)
}

// List returns a copy of a KindList option.
func (c *Config) List(group, name string) []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.list(group, name)
}

// IP returns a KindIP option.
func (c *Config) IP(group, name string) netip.Addr {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ip(group, name)
}

// Duration returns a KindSeconds option.
func (c *Config) Duration(group, name string) time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.duration(group, name)
}

// The unlocked getters below are for callers holding c.mu.

func (c *Config) get(group, name string, kinds ...Kind) any {
	o := reg.mustGet(group, name)
	if !slices.Contains(kinds, o.Kind) {
		panic(fmt.Sprintf("config: option %s is a %s, read with the wrong accessor", o.Key(), o.Kind))
	}
	return c.values[o.Key()]
}

func (c *Config) str(group, name string) string { return c.get(group, name, KindStr).(string) }

func (c *Config) int(group, name string) int { return c.get(group, name, KindInt, KindPort).(int) }

func (c *Config) bool(group, name string) bool { return c.get(group, name, KindBool).(bool) }

func (c *Config) list(group, name string) []string {
	return slices.Clone(c.get(group, name, KindList).([]string))
}

func (c *Config) ip(group, name string) netip.Addr { return c.get(group, name, KindIP).(netip.Addr) }

func (c *Config) duration(group, name string) time.Duration {
	return c.get(group, name, KindSeconds).(time.Duration)
}

// warnOnce logs msg with attrs unless a warning with the same id was logged
// by this Config already.
func (c *Config) warnOnce(id, msg string, attrs ...any) {
	c.mu.Lock()
	seen := c.warned[id]
	c.warned[id] = true
	c.mu.Unlock()
	if !seen {
		c.log.Warn(msg, attrs...)
	}
}
