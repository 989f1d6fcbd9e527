package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nb/etcd"
	"github.com/dragonflow-go/dragonflow/nb/etcd/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func dfctl(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := newRootCmd(&out, &errb)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// startNB starts a real embedded etcd with a few rows and returns its endpoint.
func startNB(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	srv, err := embedded.Start(context.Background(), embedded.Config{
		DataDir: filepath.Join(dir, "data"), ClientSocket: filepath.Join(dir, "etcd.sock"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	ep := srv.Endpoints()[0]
	db, err := etcd.New(context.Background(), etcd.Options{Endpoints: []string{ep}})
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	for _, r := range []struct{ table, key, val string }{
		{"chassis", "compute-1", `{"id":"compute-1","ip":"10.0.0.1"}`},
		{"lport", "p1", `{"id":"p1","topic":"tenant1","version":1}`},
		{"lport", "p2", `{"id":"p2","topic":"tenant2","version":1}`},
	} {
		_, err := db.Create(ctx, r.table, r.key, []byte(r.val))
		require.NoError(t, err)
	}
	lease, err := db.Grant(ctx, 30e9)
	require.NoError(t, err)
	_, err = db.Create(ctx, "publisher", "pub-1", []byte(`{"id":"pub-1","role":"neutron-server"}`), nb.WithLease(lease))
	require.NoError(t, err)
	return ep
}

func TestDBLsAndGetAgainstEmbeddedEtcd(t *testing.T) {
	ep := startNB(t)
	out, _, err := dfctl(t, "--remote-db-hosts", ep, "db", "ls")
	require.NoError(t, err)
	require.Regexp(t, `chassis\s+1`, out)
	require.Regexp(t, `lport\s+2`, out)
	require.Regexp(t, `publisher\s+1`, out)

	out, _, err = dfctl(t, "--remote-db-hosts", ep, "db", "ls", "lport")
	require.NoError(t, err)
	require.Regexp(t, `p1\s+tenant1\s+\d+\s+-`, out)
	require.Contains(t, out, "(2 rows of lport at revision")

	out, _, err = dfctl(t, "--remote-db-hosts", ep, "db", "ls", "lport", "--topic", "tenant2", "--values")
	require.NoError(t, err)
	require.Contains(t, out, `"id": "p2"`)
	require.NotContains(t, out, `"p1"`)

	out, _, err = dfctl(t, "--remote-db-hosts", ep, "db", "ls", "publisher")
	require.NoError(t, err)
	require.Regexp(t, `pub-1\s+-\s+\d+\s+[0-9a-f]+`, out, "leased rows show their lease")

	out, _, err = dfctl(t, "--remote-db-hosts", ep, "db", "get", "chassis", "compute-1")
	require.NoError(t, err)
	require.Equal(t, "{\n  \"id\": \"compute-1\",\n  \"ip\": \"10.0.0.1\"\n}\n", out)

	_, _, err = dfctl(t, "--remote-db-hosts", ep, "db", "get", "chassis", "nope")
	require.ErrorIs(t, err, nb.ErrNotFound)
}

func TestDBUsesConfigFile(t *testing.T) {
	ep := startNB(t)
	path := filepath.Join(t.TempDir(), "df.ini")
	require.NoError(t, os.WriteFile(path, []byte("[df]\nremote_db_hosts = "+ep+"\n"), 0o600))
	out, _, err := dfctl(t, "--config-file", path, "db", "get", "lport", "p1")
	require.NoError(t, err)
	require.Contains(t, out, `"topic": "tenant1"`)
}

func TestBadConfigFileIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.ini")
	require.NoError(t, os.WriteFile(path, []byte("[neutron]\npublisher_port = abc\n"), 0o600))
	_, _, err := dfctl(t, "--config-file", path, "db", "ls")
	require.Error(t, err)
	for _, want := range []string{path, "neutron", "publisher_port", "abc"} {
		require.Contains(t, err.Error(), want)
	}
	_, _, err = dfctl(t, "--nb-db-driver", "nosuch", "db", "ls")
	require.ErrorContains(t, err, "nosuch")
}

func TestConfigSampleRoundTrips(t *testing.T) {
	out, _, err := dfctl(t, "config", "sample")
	require.NoError(t, err)
	for _, want := range []string{"[df]", "[neutron]", "[controller]", "#publisher_port = 8866", "#publisher_port = 8867", "#subscribe_roles = neutron-server"} {
		require.Contains(t, out, want)
	}
	path := filepath.Join(t.TempDir(), "sample.ini")
	require.NoError(t, os.WriteFile(path, []byte(out), 0o600))
	cfg, err := config.Load([]string{path}, nil)
	require.NoError(t, err)
	s, err := cfg.ForRole(config.RoleLocalController)
	require.NoError(t, err)
	require.Equal(t, 8867, s.PublisherPort)
}

func TestHelpExplains(t *testing.T) {
	out, _, err := dfctl(t, "db", "ls", "--help")
	require.NoError(t, err)
	require.True(t, strings.Contains(out, "--topic") && strings.Contains(out, "--config-file"), out)
}
