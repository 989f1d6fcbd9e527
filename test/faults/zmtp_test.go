package faults

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// zmtpGreeting is a ZMTP 3.0 greeting with the NULL mechanism, as client.
func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10], g[11] = 0xFF, 0x7F, 3, 0
	copy(g[12:32], "NULL")
	return g
}

// zmtpReady is a READY command with Socket-Type and, if set, Identity.
func zmtpReady(socketType, identity string) []byte {
	body := []byte{5}
	body = append(body, "READY"...)
	prop := func(name, value string) {
		body = append(body, byte(len(name)))
		body = append(body, name...)
		body = binary.BigEndian.AppendUint32(body, uint32(len(value)))
		body = append(body, value...)
	}
	prop("Socket-Type", socketType)
	if identity != "" {
		prop("Identity", identity)
	}
	return append([]byte{0x04, byte(len(body))}, body...)
}

// dialStuck connects a raw ZMTP SUB to the PUB at addr with a tiny
// receive buffer, completes the handshake, subscribes to everything, and
// then never reads again.
func dialStuck(t *testing.T, addr, identity string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.DialContext(t.Context(), "tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = conn.Write(append(zmtpGreeting(), zmtpReady("SUB", identity)...))
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	peer := make([]byte, 64)
	_, err = io.ReadFull(br, peer)
	require.NoError(t, err)
	require.Equal(t, byte(0xFF), peer[0])
	require.Equal(t, byte(3), peer[10], "ZMTP 3")
	hdr := make([]byte, 2)
	_, err = io.ReadFull(br, hdr)
	require.NoError(t, err)
	require.Equal(t, byte(0x04), hdr[0]&0x06, "a command")
	ready := make([]byte, hdr[1])
	_, err = io.ReadFull(br, ready)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(ready[1:]), "READY"), "%q", ready)
	_, err = conn.Write([]byte{0x00, 0x01, 0x01}) // subscribe to ""
	require.NoError(t, err)
	require.NoError(t, conn.SetDeadline(time.Time{}))
	return conn
}

// drainUntilClosed reads what the peer sent until it closed the
// connection, and says how.
func drainUntilClosed(conn net.Conn, within time.Duration) (int64, error) {
	if err := conn.SetReadDeadline(time.Now().Add(within)); err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, conn)
	if err == nil {
		return n, nil // EOF: the publisher closed it
	}
	return n, fmt.Errorf("after %d bytes: %w", n, err)
}
