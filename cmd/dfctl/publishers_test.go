package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
)

// openNB opens a connection to the test's etcd, closed at cleanup.
func openNB(t *testing.T, ep string) nb.Driver {
	t.Helper()
	db, err := etcd.New(context.Background(), etcd.Options{Endpoints: []string{ep}})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// register registers a publisher row as a process of role would.
func register(t *testing.T, db nb.Driver, id, role, uri string, ttl time.Duration) *discovery.Registration {
	t.Helper()
	reg, err := discovery.Register(context.Background(), db, discovery.PublisherInfo{
		ID: id, Role: role, URI: uri, Host: "compute-1", PID: 4242, Epoch: 77,
	}, discovery.WithTTL(ttl), discovery.WithTimestampRefresh(0))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, reg.Close()) })
	return reg
}

func TestPublishersListsRowsWithTTL(t *testing.T) {
	ep := startNB(t) // holds pub-1: role neutron-server, no uri, a 30 s lease
	db := openNB(t, ep)
	register(t, db, "lc-1", model.RoleLocalController, "tcp://10.0.0.1:8867", 5*time.Second)

	out, _, err := dfctl(t, "--remote-db-hosts", ep, "publishers")
	require.NoError(t, err)
	require.Regexp(t, `ID\s+ROLE\s+URI\s+HOST\s+PID\s+EPOCH\s+LEASE\s+TTL`, out)
	require.Regexp(t, `lc-1\s+local-controller\s+tcp://10\.0\.0\.1:8867\s+compute-1\s+4242\s+77\s+[0-9a-f]+\s+[1-5]s`, out)
	require.Regexp(t, `pub-1\s+neutron-server\s+-\s+-\s+-\s+-\s+[0-9a-f]+\s+(30|29|28)s`, out)
	require.Contains(t, out, "(2 publishers at revision")

	out, _, err = dfctl(t, "--remote-db-hosts", ep, "publishers", "--role", "local-controller", "--json")
	require.NoError(t, err)
	var rows []publisherRow
	require.NoError(t, json.Unmarshal([]byte(out), &rows), out)
	require.Len(t, rows, 1)
	r := rows[0]
	require.Equal(t, "lc-1", r.ID)
	require.Equal(t, model.RoleLocalController, r.Role)
	require.Equal(t, 4242, r.PID)
	require.Equal(t, uint64(77), r.Epoch)
	require.NotEmpty(t, r.Lease)
	require.NotNil(t, r.TTLSeconds)
	require.True(t, *r.TTLSeconds > 0 && *r.TTLSeconds <= 5, "ttl %d", *r.TTLSeconds)

	out, _, err = dfctl(t, "--remote-db-hosts", ep, "publishers", "--role", "neutron-server", "--json")
	require.NoError(t, err)
	require.Contains(t, out, `"id": "pub-1"`)
	require.NotContains(t, out, "lc-1")

	_, _, err = dfctl(t, "--remote-db-hosts", ep, "publishers", "--role", "publisher-service")
	require.ErrorContains(t, err, "--role")
}

// TestPublishersUnknownTTL: a driver that cannot tell a lease's TTL shows
// "?" (JSON null).
func TestPublishersUnknownTTL(t *testing.T) {
	out, _, err := dfctl(t, "--nb-db-driver", "memory", "publishers", "--json")
	require.NoError(t, err)
	require.JSONEq(t, `[]`, out)
	ttl, ok := leaseTTL(context.Background(), nil, 0)
	require.False(t, ok)
	require.Zero(t, ttl)
	r := decodePublisher(nb.KV{Key: "bad", Value: []byte("{"), Lease: 0x1f})
	require.Equal(t, "1f", r.Lease)
	require.NotEmpty(t, r.Invalid)
}
