package pubsub

import (
	"fmt"
	"sort"
	"sync"
)

var (
	regMu   sync.RWMutex
	drivers = map[string]Driver{}
)

// Register makes a driver available under name ([df] pub_sub_driver). It
// panics on a duplicate name (a programming error). Called from init.
func Register(name string, d Driver) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := drivers[name]; dup {
		panic("pubsub: driver registered twice: " + name)
	}
	drivers[name] = d
}

// Drivers lists registered driver names, sorted.
func Drivers() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(drivers))
	for n := range drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the named driver.
func Lookup(name string) (Driver, error) {
	regMu.RLock()
	d, ok := drivers[name]
	regMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("pubsub: unknown pub_sub_driver %q (registered: %v)", name, Drivers())
	}
	return d, nil
}
