package neutron_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/neutron"
)

func errType(t *testing.T, body map[string]any) string {
	t.Helper()
	ne, ok := body["NeutronError"].(map[string]any)
	require.True(t, ok, "a NeutronError body: %v", body)
	require.Contains(t, ne, "detail")
	return ne["type"].(string) + ": " + ne["message"].(string)
}

// fixture creates a network and a /24 subnet and returns their ids.
func fixture(t *testing.T, e *env) (netID, subID string) {
	t.Helper()
	code, body := e.do(t, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "n1"}})
	require.Equal(t, http.StatusCreated, code, body)
	netID = body["network"].(map[string]any)["id"].(string)
	code, body = e.do(t, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": netID, "cidr": "10.0.0.0/24", "ip_version": 4, "name": "s1"}})
	require.Equal(t, http.StatusCreated, code, body)
	return netID, body["subnet"].(map[string]any)["id"].(string)
}

func TestVersionsExtensionsAndRouting(t *testing.T) {
	e := newEnv(t)
	code, body := e.do(t, "GET", "/", nil)
	require.Equal(t, 200, code)
	v := body["versions"].([]any)[0].(map[string]any)
	require.Equal(t, "v2.0", v["id"])
	require.Equal(t, e.url+"/v2.0/", v["links"].([]any)[0].(map[string]any)["href"])

	code, body = e.do(t, "GET", "/v2.0/", nil)
	require.Equal(t, 200, code)
	require.Len(t, body["resources"], 3)

	code, body = e.do(t, "GET", "/v2.0/extensions", nil)
	require.Equal(t, 200, code)
	var aliases []string
	for _, x := range body["extensions"].([]any) {
		aliases = append(aliases, x.(map[string]any)["alias"].(string))
	}
	require.Subset(t, aliases, []string{"binding", "allowed-address-pairs", "project-id", "standard-attr-revisions"})
	code, body = e.do(t, "GET", "/v2.0/extensions/binding", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "binding", body["extension"].(map[string]any)["alias"])
	code, body = e.do(t, "GET", "/v2.0/extensions/nope", nil)
	require.Equal(t, 404, code)
	require.Contains(t, errType(t, body), "ExtensionNotFound")

	code, body = e.do(t, "GET", "/v2.0/routers", nil)
	require.Equal(t, 404, code)
	require.Contains(t, errType(t, body), "HTTPNotFound")
	code, body = e.do(t, "DELETE", "/v2.0/networks", nil)
	require.Equal(t, 405, code)
	require.Contains(t, errType(t, body), "HTTPMethodNotAllowed")

	code, body = e.do(t, "GET", "/v3/projects/p1", nil)
	require.Equal(t, 200, code)
	require.Equal(t, "p1", body["project"].(map[string]any)["name"])

	snap := e.api.Stats().Snapshot()
	require.Equal(t, uint64(8), snap.TotalRequests())
	require.Contains(t, snap.Requests, neutron.RequestCount{
		RequestKey: neutron.RequestKey{Resource: "networks", Method: "DELETE", Code: 405}, Count: 1})
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	netID, _ := fixture(t, e)
	for _, tc := range []struct {
		path string
		body any
		want string
	}{
		{"/v2.0/networks", "not an envelope", "HTTPBadRequest"},
		{"/v2.0/networks", map[string]any{"port": map[string]any{}}, "Resource body required"},
		{"/v2.0/networks", map[string]any{"network": map[string]any{"bogus": 1}}, "Unrecognized attribute(s) 'bogus'"},
		{"/v2.0/networks", map[string]any{"network": map[string]any{"mtu": "big"}}, "Invalid input for mtu"},
		{"/v2.0/networks", map[string]any{"network": map[string]any{"admin_state_up": "maybe"}}, "Invalid input for admin_state_up"},
		{"/v2.0/networks", map[string]any{"network": map[string]any{"project_id": "a", "tenant_id": "b"}}, "do not match"},
		{"/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID, "cidr": "10.0.0.300/24"}}, "Invalid input for cidr"},
		{"/v2.0/subnets", map[string]any{"subnet": map[string]any{"network_id": netID, "cidr": "10.0.0.128/25"}}, "overlaps"},
		{"/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "mac_address": "zz"}}, "Invalid input for mac_address"},
		{"/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
			"fixed_ips": []any{map[string]any{"ip_address": "10.9.9.9"}}}}, "InvalidIpForNetwork"},
	} {
		code, body := e.do(t, "POST", tc.path, tc.body)
		require.Equal(t, http.StatusBadRequest, code, "%v", tc.body)
		require.Contains(t, errType(t, body), tc.want)
	}
	code, body := e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": "nope"}})
	require.Equal(t, 404, code)
	require.Equal(t, "NetworkNotFound: Network nope could not be found.", errType(t, body))
	code, body = e.do(t, "GET", "/v2.0/ports/p9", nil)
	require.Equal(t, 404, code)
	require.Equal(t, "PortNotFound: Port p9 could not be found.", errType(t, body))
	code, body = e.do(t, "GET", "/v2.0/ports?bogus=1", nil)
	require.Equal(t, 400, code)
	require.Contains(t, errType(t, body), "bogus")
	code, body = e.do(t, "PUT", "/v2.0/networks/"+netID, map[string]any{"network": map[string]any{"project_id": "x"}})
	require.Equal(t, 400, code)
	require.Contains(t, errType(t, body), "read-only attribute project_id")
}

func TestPortLifecycleIPAMAndModel(t *testing.T) {
	e := newEnv(t)
	netID, subID := fixture(t, e)

	code, body := e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{
		"network_id": netID, "name": "vm1", "tenant_id": "t1", "binding:host_id": "node1", "device_owner": "compute:nova",
		"fixed_ips":             []any{map[string]any{"subnet_id": subID, "ip_address": "10.0.0.5"}},
		"allowed_address_pairs": []any{map[string]any{"ip_address": "10.0.0.100"}},
		"description":           "first", "admin_state_up": true,
	}})
	require.Equal(t, 201, code, body)
	p := body["port"].(map[string]any)
	id := p["id"].(string)
	require.Equal(t, "DOWN", p["status"])
	require.Equal(t, "t1", p["project_id"])
	require.Equal(t, "t1", p["tenant_id"])
	require.Regexp(t, `^fa:16:3e(:[0-9a-f]{2}){3}$`, p["mac_address"])
	require.EqualValues(t, 1, p["revision_number"])
	require.Equal(t, p["mac_address"], p["allowed_address_pairs"].([]any)[0].(map[string]any)["mac_address"])

	lp := e.port(t, id)
	require.Equal(t, &model.LogicalPort{ID: id, Topic: "t1", Name: "vm1", Version: 1, LSwitch: netID,
		MACs: []string{p["mac_address"].(string)}, IPs: []string{"10.0.0.5"}, Subnets: []string{subID}, Enabled: true,
		DeviceOwner: "compute:nova", BindingHost: "node1", Status: "DOWN",
		AllowedAddressPairs: []model.AddressPair{{IPAddress: "10.0.0.100", MACAddress: p["mac_address"].(string)}}}, lp)
	ups := e.rec.Updates()
	require.Equal(t, model.DbUpdate{Table: "lport", Key: id, Action: "create", Value: ups[len(ups)-1].Value, Topic: "D"}, ups[len(ups)-1])

	// The same address again: 409; outside the subnet: 400; auto: first free.
	code, body = e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
		"fixed_ips": []any{map[string]any{"subnet_id": subID, "ip_address": "10.0.0.5"}}}})
	require.Equal(t, 409, code)
	require.Equal(t, "IpAddressAlreadyAllocated: IP address 10.0.0.5 already allocated in subnet "+subID, errType(t, body))
	code, body = e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
		"fixed_ips": []any{map[string]any{"subnet_id": subID, "ip_address": "10.0.1.5"}}}})
	require.Equal(t, 400, code)
	require.Contains(t, errType(t, body), "InvalidIpForSubnet")
	code, body = e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID, "name": "auto"}})
	require.Equal(t, 201, code)
	auto := body["port"].(map[string]any)
	require.Equal(t, []any{map[string]any{"subnet_id": subID, "ip_address": "10.0.0.2"}}, auto["fixed_ips"])

	// Filters as the CLI sends them; fields=.
	for q, want := range map[string]int{
		"?network_id=" + netID: 2, "?project_id=t1": 1, "?tenant_id=admin": 1, "?binding:host_id=node1": 1,
		"?fixed_ips=ip_address%3D10.0.0.5": 1, "?fixed_ips=subnet_id%3D" + subID: 2, "?name=vm1&name=auto": 2,
		"?device_owner=compute:nova": 1, "?mac_address=" + p["mac_address"].(string): 1, "?admin_state_up=True": 2,
		"?id=" + id: 1, "?device_id=": 2,
	} {
		code, body = e.do(t, "GET", "/v2.0/ports"+q, nil)
		require.Equal(t, 200, code, q)
		require.Len(t, body["ports"], want, q)
	}
	code, body = e.do(t, "GET", "/v2.0/ports/"+id+"?fields=status&fields=name", nil)
	require.Equal(t, 200, code)
	require.Equal(t, map[string]any{"status": "DOWN", "name": "vm1"}, body["port"])

	// Update: rename, rebind, clear the pairs, move the address; old address freed.
	code, body = e.do(t, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{
		"name": "vm1b", "binding:host_id": "node2", "allowed_address_pairs": []any{}, "description": "",
		"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.7"}}}})
	require.Equal(t, 200, code, body)
	p = body["port"].(map[string]any)
	require.EqualValues(t, 2, p["revision_number"])
	require.Empty(t, p["allowed_address_pairs"])
	require.Equal(t, "", p["description"])
	lp = e.port(t, id)
	require.Equal(t, "node2", lp.BindingHost)
	require.Equal(t, []string{"10.0.0.7"}, lp.IPs)
	require.Nil(t, lp.AllowedAddressPairs)
	require.Equal(t, int64(2), lp.Version)
	ups = e.rec.Updates()
	require.Equal(t, "set", ups[len(ups)-1].Action)
	code, _ = e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID,
		"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.5"}}}})
	require.Equal(t, 201, code, "10.0.0.5 was released")

	// An update that changes nothing in the model still moves revision_number.
	code, body = e.do(t, "PUT", "/v2.0/ports/"+id, map[string]any{"port": map[string]any{"description": "d"}})
	require.Equal(t, 200, code)
	require.EqualValues(t, 3, body["port"].(map[string]any)["revision_number"])
	require.Equal(t, "d", body["port"].(map[string]any)["description"])

	// In use: 409; delete the ports, then the subnet and network.
	code, body = e.do(t, "DELETE", "/v2.0/subnets/"+subID, nil)
	require.Equal(t, 409, code)
	require.Contains(t, errType(t, body), "SubnetInUse")
	code, body = e.do(t, "DELETE", "/v2.0/networks/"+netID, nil)
	require.Equal(t, 409, code)
	require.Contains(t, errType(t, body), "NetworkInUse")
	_, body = e.do(t, "GET", "/v2.0/ports", nil)
	for _, x := range body["ports"].([]any) {
		code, _ = e.do(t, "DELETE", "/v2.0/ports/"+x.(map[string]any)["id"].(string), nil)
		require.Equal(t, 204, code)
	}
	code, body = e.do(t, "DELETE", "/v2.0/networks/"+netID, nil)
	require.Equal(t, 409, code, "the subnet is still there")
	require.Contains(t, errType(t, body), "NetworkInUse")
	code, _ = e.do(t, "DELETE", "/v2.0/subnets/"+subID, nil)
	require.Equal(t, 204, code)
	code, _ = e.do(t, "DELETE", "/v2.0/networks/"+netID, nil)
	require.Equal(t, 204, code)
	for _, table := range []string{model.TableLogicalPort, model.TableSubnet, model.TableLogicalSwitch, neutron.TableExtra, neutron.TableIPAM} {
		kvs, _, err := e.db.List(t.Context(), table, "")
		require.NoError(t, err)
		require.Empty(t, kvs, table)
	}
}

func TestNetworkAndSubnetRoundTrip(t *testing.T) {
	e := newEnv(t)
	code, body := e.do(t, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{
		"name": "ext", "router:external": true, "shared": true, "mtu": 1400, "description": "d", "admin_state_up": false,
		"provider:network_type": "vlan", "provider:physical_network": "physnet1", "provider:segmentation_id": 100,
		"tags": []string{"a"}}})
	require.Equal(t, 201, code, body)
	n := body["network"].(map[string]any)
	netID := n["id"].(string)
	code, body = e.do(t, "GET", "/v2.0/networks/"+netID, nil)
	require.Equal(t, 200, code)
	require.Equal(t, n, body["network"], "show returns what create returned")
	for k, want := range map[string]any{"router:external": true, "shared": true, "mtu": 1400.0, "description": "d",
		"admin_state_up": false, "provider:segmentation_id": 100.0, "status": "ACTIVE", "tags": []any{"a"}} {
		require.Equal(t, want, n[k], k)
	}
	sw := &model.LogicalSwitch{ID: netID}
	require.NoError(t, e.nb.Get(t.Context(), sw))
	require.Equal(t, &model.LogicalSwitch{ID: netID, Topic: neutron.DefaultProjectID, Name: "ext", Version: 1, NetworkType: "vlan",
		PhysicalNetwork: "physnet1", SegmentationID: 100, MTU: 1400, IsExternal: true}, sw)

	code, body = e.do(t, "POST", "/v2.0/subnets", map[string]any{"subnet": map[string]any{
		"network_id": netID, "cidr": "192.168.1.0/24", "gateway_ip": nil, "enable_dhcp": false,
		"dns_nameservers": []string{"8.8.8.8"}, "allocation_pools": []any{map[string]string{"start": "192.168.1.10", "end": "192.168.1.11"}}}})
	require.Equal(t, 201, code, body)
	s := body["subnet"].(map[string]any)
	require.Nil(t, s["gateway_ip"])
	require.EqualValues(t, 4, s["ip_version"])
	code, body = e.do(t, "GET", "/v2.0/networks/"+netID, nil)
	require.Equal(t, 200, code)
	require.Equal(t, []any{s["id"]}, body["network"].(map[string]any)["subnets"])

	// The pool has two addresses.
	for range 2 {
		code, _ = e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}})
		require.Equal(t, 201, code)
	}
	code, body = e.do(t, "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": netID}})
	require.Equal(t, 409, code)
	require.Contains(t, errType(t, body), "IpAddressGenerationFailure")

	code, body = e.do(t, "PUT", "/v2.0/subnets/"+s["id"].(string), map[string]any{"subnet": map[string]any{"name": "renamed", "gateway_ip": "192.168.1.1"}})
	require.Equal(t, 200, code, body)
	require.Equal(t, "192.168.1.1", body["subnet"].(map[string]any)["gateway_ip"])
	require.EqualValues(t, 2, body["subnet"].(map[string]any)["revision_number"])

	code, body = e.do(t, "PUT", "/v2.0/networks/"+netID, map[string]any{"network": map[string]any{"name": "", "admin_state_up": true}})
	require.Equal(t, 200, code)
	require.Equal(t, "", body["network"].(map[string]any)["name"])
	require.Equal(t, true, body["network"].(map[string]any)["admin_state_up"])
	require.EqualValues(t, 2, body["network"].(map[string]any)["revision_number"])
}

func TestProjectFromHeaderAndPublishFailure(t *testing.T) {
	e := newEnv(t)
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.url+"/v2.0/networks", strings.NewReader(`{"network": {"name": "h"}}`))
	require.NoError(t, err)
	req.Header.Set(neutron.ProjectHeader, "proj-h")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	resp.Body.Close()
	require.Equal(t, 201, resp.StatusCode)
	require.Equal(t, "test", resp.Header.Get(neutron.WorkerHeader))
	require.Equal(t, "proj-h", body["network"].(map[string]any)["project_id"])

	// A failed publish after the write is not the client's problem.
	e.rec.FailWith(errors.New("publisher service down"))
	code, body := e.do(t, "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"name": "lost"}})
	require.Equal(t, 201, code, body)
	_, err = e.db.Get(t.Context(), model.TableLogicalSwitch, body["network"].(map[string]any)["id"].(string))
	require.NoError(t, err)
	snap := e.api.Stats().Snapshot()
	require.Equal(t, uint64(1), snap.PublishFailures)
	require.Equal(t, uint64(1), snap.WritesPublished)
	require.Contains(t, e.logs.String(), "not published")
	_, err = e.db.Get(t.Context(), model.TableLogicalSwitch, "nope")
	require.ErrorIs(t, err, nb.ErrNotFound)
}
