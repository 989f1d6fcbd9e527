package zmq

// Endpoints: "tcp://host:port" and "ipc://path".
//
// A bind host of "*" (libzmq's wildcard) listens on every address; port 0
// takes a free port. The URI a publisher advertises never carries a wildcard:
// PublisherConfig.AdvertiseHost replaces it, else the first non-loopback
// address of the host (127.0.0.1 when there is none). "ipc://" paths are Unix
// socket paths ("ipc:///run/df/pub.sock" is absolute, "ipc://@name" is
// Linux's abstract namespace). Binding an ipc path whose socket file exists
// removes the file only when nobody is listening on it; Close removes it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// endpoint is a parsed URI.
type endpoint struct {
	network string // "tcp" or "unix"
	address string // host:port (host "" for the wildcard) or socket path
}

func parseEndpoint(uri string) (endpoint, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return endpoint{}, fmt.Errorf("zmq: endpoint %q: want tcp://host:port or ipc://path", uri)
	}
	switch scheme {
	case "tcp":
		host, port, err := net.SplitHostPort(rest)
		if err != nil {
			return endpoint{}, fmt.Errorf("zmq: endpoint %q: %w", uri, err)
		}
		if port == "" {
			return endpoint{}, fmt.Errorf("zmq: endpoint %q: no port", uri)
		}
		if host == "*" {
			host = ""
		}
		return endpoint{network: "tcp", address: net.JoinHostPort(host, port)}, nil
	case "ipc":
		if rest == "" {
			return endpoint{}, fmt.Errorf("zmq: endpoint %q: empty path", uri)
		}
		return endpoint{network: "unix", address: rest}, nil
	}
	return endpoint{}, fmt.Errorf("zmq: endpoint %q: unsupported transport %q (want tcp or ipc)", uri, scheme)
}

func (e endpoint) String() string {
	if e.network == "unix" {
		return "ipc://" + e.address
	}
	return "tcp://" + e.address
}

// listen binds e. For ipc it first removes a stale socket file (one nobody
// listens on).
func listen(e endpoint) (net.Listener, error) {
	if e.network == "unix" && !strings.HasPrefix(e.address, "@") {
		if err := removeStaleSocket(e.address); err != nil {
			return nil, err
		}
	}
	l, err := net.Listen(e.network, e.address)
	if err != nil {
		return nil, fmt.Errorf("zmq: bind %s: %w", e, err)
	}
	return l, nil
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // absent (or unreadable: let Listen report it)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("zmq: bind ipc://%s: exists and is not a socket", path)
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("zmq: bind ipc://%s: %w (another process listens on it)", path, syscall.EADDRINUSE)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("zmq: remove stale socket %s: %w", path, err)
	}
	return nil
}

// dial connects to e within ctx.
func dial(ctx context.Context, e endpoint) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, e.network, e.address)
	if err != nil {
		return nil, fmt.Errorf("zmq: connect %s: %w", e, err)
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	return c, nil
}

// advertisedURI is the URI subscribers use to reach a listener bound at e.
func advertisedURI(e endpoint, l net.Listener, advertiseHost string) string {
	if e.network == "unix" {
		return e.String()
	}
	bindHost, _, _ := net.SplitHostPort(e.address)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	host := bindHost
	if isWildcard(bindHost) {
		host = advertiseHost
		if host == "" {
			host = firstHostAddress()
		}
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// firstHostAddress is the first global-unicast IPv4 address of the host, or
// 127.0.0.1.
func firstHostAddress() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

// acceptLoop accepts connections on ln until it is closed, handing each to
// admit; admit returning false (the owner is closing) ends the loop. A
// failing Accept (e.g. out of file descriptors) is logged and retried after
// a pause, or ends the loop once stop is closed.
func acceptLoop(ln net.Listener, log *slog.Logger, stop <-chan struct{}, admit func(net.Conn) bool) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			log.Warn("accept failed", "err", err)
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			continue
		}
		if !admit(nc) {
			_ = nc.Close()
			return
		}
	}
}
