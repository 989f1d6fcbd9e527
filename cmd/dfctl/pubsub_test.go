package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var boundURI = regexp.MustCompile(`publisher \S+ on (tcp://\S+)`)

// pub waits for a subscriber, sends exactly --count events and exits once
// they are taken; sub exits 0 with a JSON summary of exactly that count.
func TestPubToSubExactCount(t *testing.T) {
	pub := dfctlAsync(t, "pub", "--bind", "tcp://127.0.0.1:0", "--wait-subscribers", "1",
		"--count", "500", "--topic", "tenant1")
	var uri string
	require.Eventually(t, func() bool {
		m := boundURI.FindStringSubmatch(pub.errb.String())
		if m != nil {
			uri = m[1]
		}
		return m != nil
	}, 10*time.Second, 5*time.Millisecond)

	out, _, err := dfctl(t, "sub", "--connect", uri, "--topic", "tenant", "--count", "500", "--json", "--timeout", "30s")
	require.NoError(t, err)
	require.NoError(t, pub.wait(t), pub.errb.String())
	var sum summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum), out)
	require.Equal(t, 500, sum.Received)
	require.Equal(t, map[string]int{"tenant1": 500}, sum.PerTopic)
	require.Empty(t, sum.Gaps)
	require.True(t, sum.Complete)
	require.Contains(t, pub.errb.String(), "published 500 events")
}

// sub fails (non-zero exit) when fewer than --count events arrive.
func TestSubFailsOnShortCount(t *testing.T) {
	_, _, err := dfctl(t, "sub", "--connect", "tcp://127.0.0.1:1", "--count", "3", "--timeout", "300ms")
	require.ErrorContains(t, err, "received 0 of 3")
	_, _, err = dfctl(t, "sub", "--count", "3")
	require.ErrorContains(t, err, "--connect")
}

// push delivers to pull over ipc; pull prints each event.
func TestPushToPullIPC(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "pub.sock")
	pull := dfctlAsync(t, "pull", "--bind", "ipc://"+sock, "--count", "20", "--timeout", "30s")
	require.Eventually(t, func() bool { return strings.Contains(pull.errb.String(), "pulling on") },
		10*time.Second, 5*time.Millisecond)
	_, pushErr, err := dfctl(t, "push", "--connect", "ipc://"+sock, "--count", "20",
		"--table", "lport", "--key", "p", "--action", "update", "--value", "ACTIVE", "--topic", "listener_h1")
	require.NoError(t, err, pushErr)
	require.NoError(t, pull.wait(t), pull.errb.String())
	lines := regexp.MustCompile(`(?m)^listener_h1 lport update p-\d+ pub=\S+ epoch=\d+ seq=\d+ value=ACTIVE$`).
		FindAllString(pull.out.String(), -1)
	require.Len(t, lines, 20, pull.out.String())
}

func TestPubFlagErrors(t *testing.T) {
	_, _, err := dfctl(t, "pub", "--bind", "tcp://127.0.0.1:0", "--count", "0")
	require.ErrorContains(t, err, "--count")
	_, _, err = dfctl(t, "pub", "--bind", "tcp://127.0.0.1:0", "--driver", "nosuch")
	require.ErrorContains(t, err, "nosuch")
	_, _, err = dfctl(t, "pub", "--bind", "tcp://127.0.0.1:0", "--wait-subscribers", "1", "--wait-timeout", "100ms")
	require.ErrorContains(t, err, "--wait-subscribers")
}
