package neutron_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/neutron"
)

// openstackCLI is Debian's python3-openstackclient (scripts/install-test-deps.sh).
const openstackCLI = "/usr/bin/openstack"

// cli runs the real openstack CLI against one server.
type cli struct {
	t   *testing.T
	env []string
}

func newCLI(t *testing.T, url string) *cli {
	t.Helper()
	if _, err := os.Stat(openstackCLI); err != nil {
		// Never skipped: without the CLI this test cannot say anything.
		t.Fatalf("%s is missing (install python3-openstackclient, see scripts/install-test-deps.sh; CI=%q): %v",
			openstackCLI, os.Getenv("CI"), err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "clouds.yaml")
	// auth.endpoint is where keystoneclient goes to resolve --project: the
	// server's identity stub under /v3.
	yaml := fmt.Sprintf("clouds:\n  df:\n    auth_type: none\n    auth:\n      endpoint: %s/v3\n"+
		"    network_endpoint_override: %s/\n", url, url)
	require.NoError(t, os.WriteFile(cfg, []byte(yaml), 0o600))
	env := []string{"OS_CLIENT_CONFIG_FILE=" + cfg, "HOME=" + dir, "PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	return &cli{t: t, env: env}
}

// run runs `openstack --os-cloud df args...` and returns stdout, stderr
// and whether it succeeded.
func (c *cli) run(args ...string) (string, string, bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, openstackCLI, append([]string{"--os-cloud", "df"}, args...)...)
	cmd.Env = c.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	c.t.Logf("openstack %s -> %v", strings.Join(args, " "), err)
	return out.String(), errb.String(), err == nil
}

// ok runs a command that must succeed.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errOut, ok := c.run(args...)
	require.True(c.t, ok, "openstack %v failed:\n%s%s", args, out, errOut)
	return out
}

// json runs a command with -f json and decodes its output.
func (c *cli) json(out any, args ...string) {
	c.t.Helper()
	s := c.ok(append(args, "-f", "json")...)
	require.NoError(c.t, json.Unmarshal([]byte(s), out), s)
}

// fails runs a command that must fail and returns its stderr.
func (c *cli) fails(args ...string) string {
	c.t.Helper()
	out, errOut, ok := c.run(args...)
	require.False(c.t, ok, "openstack %v succeeded:\n%s", args, out)
	return errOut
}

// TestOpenstackCLI drives the REST API with the real openstack CLI, one
// command per call (about 25 calls), including a port going ACTIVE through
// the listener.
func TestOpenstackCLI(t *testing.T) {
	e := newEnv(t)
	ctl := e.controller(t, "ctl-1")
	l := e.listen(t, neutron.ListenerConfig{})
	oc := newCLI(t, e.url)

	var net map[string]any
	oc.json(&net, "network", "create", "net1")
	require.Equal(t, "net1", net["name"])
	require.Equal(t, "ACTIVE", net["status"])
	require.Equal(t, neutron.DefaultProjectID, net["project_id"])
	require.EqualValues(t, 1, net["revision_number"])
	netID := net["id"].(string)

	var nets []map[string]any
	oc.json(&nets, "network", "list")
	require.Len(t, nets, 1)
	require.Equal(t, netID, nets[0]["ID"])
	oc.ok("network", "set", "--name", "net1b", "--description", "renamed", "net1")
	oc.json(&net, "network", "show", "net1b")
	require.Equal(t, "renamed", net["description"])
	require.EqualValues(t, 2, net["revision_number"])
	require.Contains(t, oc.fails("network", "show", "nope"), "No Network found for nope")

	var sub map[string]any
	oc.json(&sub, "subnet", "create", "--network", "net1b", "--subnet-range", "10.0.0.0/24", "sub1")
	require.Equal(t, "10.0.0.1", sub["gateway_ip"])
	require.Equal(t, []any{map[string]any{"start": "10.0.0.2", "end": "10.0.0.254"}}, sub["allocation_pools"])
	subID := sub["id"].(string)
	var subs []map[string]any
	oc.json(&subs, "subnet", "list")
	require.Len(t, subs, 1)
	require.Equal(t, "10.0.0.0/24", subs[0]["Subnet"])
	oc.json(&sub, "subnet", "show", "sub1")
	require.Equal(t, netID, sub["network_id"])

	var port map[string]any
	oc.json(&port, "port", "create", "--network", "net1b", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.5",
		"--allowed-address", "ip-address=10.0.0.100", "--host", "node1", "--device-owner", "compute:nova", "p1")
	require.Equal(t, "DOWN", port["status"])
	require.Equal(t, "node1", port["binding_host_id"])
	require.Equal(t, []any{map[string]any{"subnet_id": subID, "ip_address": "10.0.0.5"}}, port["fixed_ips"])
	require.Equal(t, "10.0.0.100", port["allowed_address_pairs"].([]any)[0].(map[string]any)["ip_address"])
	p1 := port["id"].(string)
	require.Contains(t, oc.fails("port", "create", "--network", "net1b", "--fixed-ip", "subnet=sub1,ip-address=10.0.0.5", "p2"),
		"IP address 10.0.0.5 already allocated in subnet "+subID)
	oc.json(&port, "port", "create", "--network", "net1b", "--project", "proj2", "p3")
	require.Equal(t, "proj2", port["project_id"])
	require.Equal(t, []any{map[string]any{"subnet_id": subID, "ip_address": "10.0.0.2"}}, port["fixed_ips"])

	var ports []map[string]any
	oc.json(&ports, "port", "list", "--network", "net1b")
	require.Len(t, ports, 2)
	oc.json(&ports, "port", "list", "--project", "proj2")
	require.Len(t, ports, 1)
	require.Equal(t, "p3", ports[0]["Name"])
	oc.json(&ports, "port", "list", "--host", "node1")
	require.Len(t, ports, 1)
	require.Equal(t, p1, ports[0]["ID"])

	// The controller of node1 reports the port up: the listener sets it.
	require.Eventually(t, func() bool { return len(l.Publishers()) == 1 }, wait, poll)
	ctl.report(t, p1, model.PortStatusActive, 1)
	require.Eventually(t, statusIs(t, e, p1, "ACTIVE"), wait, poll)
	require.Equal(t, "ACTIVE\n", oc.ok("port", "show", "p1", "-c", "status", "-f", "value"))

	oc.ok("port", "set", "--name", "p1b", "--host", "node2", "p1")
	oc.json(&port, "port", "show", "p1b")
	require.Equal(t, "node2", port["binding_host_id"])
	require.EqualValues(t, 3, port["revision_number"], "create, status, set")
	require.Equal(t, "node2", e.port(t, p1).BindingHost)

	require.Contains(t, oc.fails("subnet", "delete", "sub1"), "One or more ports have an IP allocation from this subnet")
	require.Contains(t, oc.fails("network", "delete", "net1b"), "There are one or more ports still in use on the network")
	oc.ok("port", "delete", "p1b", "p3")
	oc.ok("subnet", "delete", "sub1")
	oc.ok("network", "delete", "net1b")
	oc.json(&nets, "network", "list")
	require.Empty(t, nets)
}
