package nb

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
)

// Config is what every driver constructor receives.
type Config struct {
	// Hosts are "host:port" pairs or unix socket URLs ("unix:///path"), from
	// [df] remote_db_hosts.
	Hosts []string
	// Logger is never nil when passed by Open.
	Logger *slog.Logger
}

// Factory builds a driver from a Config.
type Factory func(ctx context.Context, cfg Config) (Driver, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a driver available by name. It panics on a duplicate name,
// as two drivers claiming one name is a programming error. Called from init.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("nb: driver registered twice: " + name)
	}
	factories[name] = f
}

// Drivers lists registered driver names, sorted.
func Drivers() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open builds the named driver.
func Open(ctx context.Context, name string, cfg Config) (Driver, error) {
	mu.RLock()
	f, ok := factories[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("nb: unknown nb_db_driver %q (registered: %v)", name, Drivers())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d, err := f(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("nb: open %s: %w", name, err)
	}
	return d, nil
}
