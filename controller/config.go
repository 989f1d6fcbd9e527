package controller

import (
	"log/slog"
	"time"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/internal/clock"
	"github.com/dragonflow-go/dragonflow/nbapi"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Config is what New needs. Only Config is required.
type Config struct {
	// Config is the loaded configuration: [DEFAULT] host (the chassis id),
	// [df] (NB DB, pub/sub driver, management_ip, db_sync_time,
	// enable_selective_topology_distribution) and [controller]
	// (publisher, subscribe_roles, admin_listen, port_source,
	// active_port_detector).
	Config *config.Config
	// Logger; nil discards.
	Logger *slog.Logger
	// AdminListen overrides [controller] admin_listen (host:port; port 0
	// picks a free port).
	AdminListen string
	// PortSource overrides [controller] port_source. The controller owns
	// it and closes it.
	PortSource portsource.Source
	// Detector overrides [controller] active_port_detector. The
	// controller owns it and closes it.
	Detector activeport.Detector
	// NbApiOptions are added to the NbApi's (tests: nbapi.WithDB,
	// nbapi.WithPubSubDriver). WithAdminAddr and WithLogger are set by New.
	NbApiOptions []nbapi.Option
	// DiscoveryOptions are added to the publisher discovery's
	// (WithExcludeID and WithLogger are set by New).
	DiscoveryOptions []discovery.Option
	// SyncInterval overrides [df] db_sync_time, the period of the full
	// sync that backs up gap detection; negative: none.
	SyncInterval time.Duration
	// Clock schedules the periodic sync and resync retries and stamps
	// tombstones and port status; nil: clock.Real().
	Clock clock.Clock
	// ControlInterval is the least time between two obeyed control actions
	// of one publisher (0: DefaultControlInterval); see control.go.
	ControlInterval time.Duration
	// TombstoneTTL is how long deletes are remembered (0:
	// DefaultTombstoneTTL).
	TombstoneTTL time.Duration
	// OnEvent, when set, is called with every event the subscriber
	// delivered and what the cache did with it, on the subscriber's
	// delivery goroutine, in delivery order. It must return quickly.
	OnEvent func(EventRecord)
	// OnGap, when set, is called with every gap the subscriber reports,
	// before the resync that repairs it is requested, on the subscriber's
	// delivery goroutine, in order with the events. It must return
	// quickly.
	OnGap func(pubsub.Gap)
	// ResyncJitter spreads the resyncs that every subscriber of a
	// publisher asks for at the same moment — after a gap (a restarted
	// publisher: epoch change, reconnect), a newly connected publisher, a
	// first contact or a df_resync marker: each is run after a random
	// delay in [0, ResyncJitter], and further requests of the topic
	// meanwhile coalesce into it. 0: [controller] resync_jitter (1 s by
	// default); negative: at once. The start sync, a new tenant topic, the
	// periodic sync and retries are not delayed.
	ResyncJitter time.Duration
	// SyncLimit, when set, caps the resyncs running at once across every
	// controller sharing it (NewSyncLimit): a process-wide cap on
	// concurrent full syncs. nil: no cap.
	SyncLimit *SyncLimit
	// StateFile, when set, is where the controller keeps its resume state
	// ([controller] state_file; see state.go): a snapshot of its cache and
	// the last seq applied per (publisher, epoch, topic), written
	// atomically every StateInterval when something changed and at Close.
	// At start an existing file of this host is loaded and the full sync
	// skipped for publishers it can resume; a corrupt or foreign file is
	// ignored with a warning.
	StateFile string
	// StateInterval is how often the state file is rewritten (0:
	// DefaultStateInterval).
	StateInterval time.Duration
	// OnResync, when set, is called after every resync of a topic, on the
	// goroutine that ran it. It must return quickly.
	OnResync func(ResyncReport)
}

// EventRecord is one delivered event and its fate (Config.OnEvent): the
// history tests use to check that no event is applied twice and that
// each publisher's order is kept.
type EventRecord struct {
	PublisherID string
	Epoch, Seq  uint64
	Topic       string
	Table, Key  string
	Action      string
	// Version is the object's version (versioned models), else 0.
	Version int64
	Outcome Outcome
}
