package discovery

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"

	"github.com/google/uuid"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// idSpace is the UUIDv5 namespace of publisher ids (itself a UUIDv5 of
// "publisher.dragonflow-go" in the DNS namespace).
var idSpace = uuid.NewSHA1(uuid.NameSpaceDNS, []byte("publisher.dragonflow-go"))

// processNonce is drawn once per process from crypto/rand.
var processNonce = sync.OnceValue(func() string { return uuid.NewString() })

// NewID returns the publisher id of this process in role on host: a UUIDv5
// over role, host, pid and a random value drawn once per process.
//
// It never collides between two processes, even on one host and even when
// pid namespaces (containers sharing a host name) repeat pids, because of
// the random part; Dragonflow's uuid5("MainProcess.<fqdn>") collided for
// every process of a host. Within one process the same role and host always
// give the same id. It is not stable across restarts, on purpose: a restart
// is a new publisher (the epoch changes too), and the old row disappears
// with its lease. Discover also makes sure that an old and a new row
// advertising the same uri meanwhile are connected once.
func NewID(role, host string) string {
	name := role + "\x00" + host + "\x00" + strconv.Itoa(os.Getpid()) + "\x00" + processNonce()
	return uuid.NewSHA1(idSpace, []byte(name)).String()
}

// NewEpoch returns a fresh epoch for a publisher starting now (wall-clock
// nanoseconds, as pubsub.NewEpoch): it differs on every start.
func NewEpoch() uint64 { return pubsub.NewEpoch() }

// AdvertiseURI is the uri a network publisher of role settings s registers
// before it binds: scheme://host:port with s.AdvertiseHost() (the binding
// address, or [df] management_ip when the publisher binds to all
// interfaces) and s.PublisherPort. The error wraps
// config.ErrNoAdvertiseAddress and names the options to set when neither
// gives a usable address. A publisher that is already bound should register
// its pubsub.Publisher's Info().URI instead (it knows the port bound when
// the configured one is 0).
func AdvertiseURI(scheme string, s config.RoleSettings) (string, error) {
	host, err := s.AdvertiseHost()
	if err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(s.PublisherPort)), nil
}
