// Package drivers is the one place that says which NB DB and pub/sub drivers
// ship in the binaries (CoreDNS's zplugin, by hand): every daemon and dfctl
// imports it for its side effect of registering them by name.
package drivers

import (
	// NB DB drivers.
	_ "github.com/dragonflow-go/dragonflow/nb/etcd"
	_ "github.com/dragonflow-go/dragonflow/nb/memory"
	_ "github.com/dragonflow-go/dragonflow/nb/redis"

	// Pub/sub drivers.
	_ "github.com/dragonflow-go/dragonflow/pubsub/etcd"
	_ "github.com/dragonflow-go/dragonflow/pubsub/nats"
	_ "github.com/dragonflow-go/dragonflow/pubsub/redis"
	_ "github.com/dragonflow-go/dragonflow/pubsub/zmq"
)
