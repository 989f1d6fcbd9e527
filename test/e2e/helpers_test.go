package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/internal/aio"
	"github.com/dragonflow-go/dragonflow/internal/testutil"
)

// startAIO runs an all-in-one for the test with free ports, short leases and
// the binaries of TestMain; it is stopped in t.Cleanup.
func startAIO(t *testing.T, o aio.Options) (*aio.AIO, *testutil.LockedBuffer) {
	t.Helper()
	o.DataDir = t.TempDir()
	o.BinDir = binDir
	if o.DBAddr == "" {
		o.DBAddr = "127.0.0.1:0"
	}
	if o.RestListen == "" {
		o.RestListen = freeAddr(t)
	}
	if o.PublisherTimeout == 0 {
		o.PublisherTimeout = 3 * time.Second
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	out := &testutil.LockedBuffer{}
	a, err := aio.Start(t.Context(), o, out)
	require.NoError(t, err, "all-in-one output:\n%s", out.String())
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close the all-in-one: %v", err)
		}
		if t.Failed() {
			for _, p := range a.Processes() {
				t.Logf("=== log of %s (%s)", p.Name(), p.LogPath())
				t.Log(tail(p.LogPath()))
			}
		}
	})
	return a, out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// rest calls the REST API at addr and decodes the JSON answer into out.
func rest(ctx context.Context, addr, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// create POSTs a resource and returns its id.
func create(t *testing.T, addr, coll, kind string, fields map[string]any) string {
	t.Helper()
	var resp map[string]map[string]any
	require.NoError(t, rest(t.Context(), addr, http.MethodPost, "/v2.0/"+coll, map[string]any{kind: fields}, &resp))
	id, _ := resp[kind]["id"].(string)
	require.NotEmpty(t, id, "%s id", kind)
	return id
}

// dfctl runs the dfctl binary with the all-in-one's config.
func dfctl(t *testing.T, a *aio.AIO, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binDir+"/dfctl", append([]string{"--config-file", a.ConfigPath()}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// cacheHas says whether the controller's /cache holds table/key.
func cacheHas(ctx context.Context, p *aio.Process, table, key string) (bool, error) {
	var cache struct {
		Tables map[string]map[string]json.RawMessage `json:"tables"`
	}
	if err := getJSON(ctx, p.Admin(), "/cache", &cache); err != nil {
		return false, err
	}
	_, ok := cache.Tables[table][key]
	return ok, nil
}

func getJSON(ctx context.Context, addr, path string, out any) error {
	return rest(ctx, addr, http.MethodGet, path, nil, out)
}

func tail(path string) string {
	out, err := exec.Command("tail", "-n", "40", path).CombinedOutput()
	if err != nil {
		return err.Error()
	}
	return strings.TrimRight(string(out), "\n")
}
