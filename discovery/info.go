package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/pubsub"
)

// Errors. Compare with errors.Is.
var (
	// ErrInvalid: a PublisherInfo (or a publisher row) that cannot be
	// registered (or connected to): no id, unknown role, bad uri.
	ErrInvalid = errors.New("discovery: invalid publisher")
	// ErrWildcardURI: the uri's host means "all interfaces" ("*",
	// "0.0.0.0", "::", empty), which subscribers cannot connect to. Errors
	// wrapping it wrap ErrInvalid too.
	ErrWildcardURI = errors.New("discovery: publisher uri has a wildcard host")
)

// PublisherInfo is one publisher as registered in the publisher table:
// what Register writes and what Discover reports.
type PublisherInfo struct {
	// ID names the publisher; unique per process and role (see NewID).
	ID string
	// Role is model.RoleNeutronServer or model.RoleLocalController.
	Role string
	// URI is where subscribers connect, e.g. "tcp://10.0.0.1:8866"; never a
	// wildcard host (see AdvertiseURI).
	URI string
	// Host is the [DEFAULT] host of the process (informative).
	Host string
	// PID is the process id (informative).
	PID int
	// Epoch changes on every start of the publisher (see NewEpoch).
	Epoch uint64
	// Admin is the host:port of the process's loopback admin endpoint
	// (/healthz, /metrics, /status, ...), "" when it has none. dfctl finds
	// a host's controller through it.
	Admin string
}

// Endpoint is what a subscriber needs to connect to p.
func (p PublisherInfo) Endpoint() pubsub.Endpoint {
	return pubsub.Endpoint{PublisherID: p.ID, URI: p.URI, Role: p.Role}
}

// validate checks what Register needs.
func (p PublisherInfo) validate() error {
	if p.ID == "" {
		return fmt.Errorf("%w: empty id (use NewID)", ErrInvalid)
	}
	if !knownRole(p.Role) {
		return fmt.Errorf("%w %s: role %q (want %s or %s)", ErrInvalid, p.ID, p.Role,
			model.RoleNeutronServer, model.RoleLocalController)
	}
	return CheckURI(p.URI)
}

func knownRole(r string) bool {
	return r == model.RoleNeutronServer || r == model.RoleLocalController
}

// CheckURI reports whether subscribers on other hosts could connect to uri:
// it needs a scheme, a tcp uri needs host:port, and the host must not be a
// wildcard ("*", "0.0.0.0", "::", "[::]", empty): the error then wraps
// ErrWildcardURI and says which options fix it. Path-only schemes (ipc,
// unix, inproc) need a path.
func CheckURI(uri string) error {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || scheme == "" {
		return fmt.Errorf("%w: uri %q: want scheme://host:port", ErrInvalid, uri)
	}
	switch scheme {
	case "ipc", "unix", "inproc":
		if rest == "" {
			return fmt.Errorf("%w: uri %q: empty path", ErrInvalid, uri)
		}
		return nil
	}
	authority, _, _ := strings.Cut(rest, "/")
	host, port, err := net.SplitHostPort(authority)
	if err != nil {
		if scheme == "tcp" {
			return fmt.Errorf("%w: uri %q: want tcp://host:port", ErrInvalid, uri)
		}
		host = strings.TrimSuffix(strings.TrimPrefix(authority, "["), "]")
	} else if scheme == "tcp" && port == "" {
		return fmt.Errorf("%w: uri %q: no port", ErrInvalid, uri)
	}
	if isWildcard(host) {
		return fmt.Errorf("%w: %w: %q advertises %q, which subscribers cannot connect to; "+
			"set publisher_binding_address (in [neutron] or [controller]) to an address of this host, "+
			"or leave it * and set [df] management_ip", ErrInvalid, ErrWildcardURI, uri, host)
	}
	return nil
}

// isWildcard reports whether host means "all interfaces".
func isWildcard(host string) bool {
	if host == "" || host == "*" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

// encodeRow is the row's JSON: model.Publisher, Dragonflow's fields plus
// role, host, pid and epoch, stamped with now.
func encodeRow(p PublisherInfo, now time.Time) ([]byte, error) {
	b, err := json.Marshal(&model.Publisher{
		ID: p.ID, Role: p.Role, URI: p.URI, Host: p.Host, PID: p.PID, Epoch: p.Epoch,
		Admin: p.Admin, LastActivityTimestamp: model.UnixSeconds(now),
	})
	if err != nil {
		return nil, fmt.Errorf("discovery: encode publisher %s: %w", p.ID, err)
	}
	return b, nil
}

// decodeRow reads the publisher row at key. The key is the id (delete
// events carry nothing else); a row whose JSON names another id is
// rejected, one that names none takes the key. A row without role is
// Dragonflow's own shape and gets model.RoleNeutronServer (the Python
// publisher service was the only process that registered). Errors wrap
// ErrInvalid.
func decodeRow(key string, value []byte) (PublisherInfo, error) {
	var row model.Publisher
	if err := json.Unmarshal(value, &row); err != nil {
		return PublisherInfo{}, fmt.Errorf("%w: row %q: %w", ErrInvalid, key, err)
	}
	switch row.ID {
	case "":
		row.ID = key
	case key:
	default:
		return PublisherInfo{}, fmt.Errorf("%w: row %q holds id %q", ErrInvalid, key, row.ID)
	}
	if row.Role == "" {
		row.Role = model.RoleNeutronServer
	}
	if err := CheckURI(row.URI); err != nil {
		return PublisherInfo{}, fmt.Errorf("row %q: %w", key, err)
	}
	return PublisherInfo{ID: row.ID, Role: row.Role, URI: row.URI, Host: row.Host, PID: row.PID, Epoch: row.Epoch,
		Admin: row.Admin}, nil
}
