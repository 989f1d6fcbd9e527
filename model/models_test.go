package model

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sampleModels holds one fully populated object of every table.
func sampleModels() []Model {
	return []Model{
		&Publisher{ID: "4e6e57b6-e198-579e-bc76-171e668c5373", Name: "pub", Role: RoleNeutronServer,
			URI: "tcp://10.0.0.1:8866", Host: "node1", PID: 4242, Epoch: 1_700_000_000_000, LastActivityTimestamp: 1565270573.123456},
		&Listener{ID: "node1", PPID: 17, Timestamp: 1565270573.5},
		&Chassis{ID: "node1", IP: "10.0.0.1", ExternalHostIP: "172.24.4.1", TunnelTypes: []string{"geneve", "vxlan"}},
		&LogicalSwitch{ID: "net1", Topic: "tenant1", Name: "private", Version: 3, UniqueKey: 7, NetworkType: "vlan",
			PhysicalNetwork: "physnet1", SegmentationID: 100, MTU: 1450, IsExternal: true},
		&Subnet{ID: "sub1", Topic: "tenant1", Name: "s", Version: 2, LSwitch: "net1", CIDR: "10.0.0.0/24",
			GatewayIP: "10.0.0.1", EnableDHCP: true, DHCPIP: "10.0.0.2", DNSNameservers: []string{"8.8.8.8"},
			HostRoutes: []HostRoute{{Destination: "10.1.0.0/16", Nexthop: "10.0.0.254"}}},
		&LogicalPort{ID: "p1", Topic: "tenant1", Name: "vm1", Version: 5, LSwitch: "net1", MACs: []string{"fa:16:3e:00:00:01"},
			IPs: []string{"10.0.0.5"}, Subnets: []string{"sub1"}, Enabled: true, DeviceOwner: "compute:nova",
			DeviceID: "vm-uuid", BindingHost: "node1", Status: PortStatusActive,
			AllowedAddressPairs: []AddressPair{{IPAddress: "10.0.0.100", MACAddress: "fa:16:3e:00:00:01"}}, UniqueKey: 9},
		&ActivePort{ID: ActivePortID("net1", "10.0.0.100"), Topic: "tenant1", Network: "net1", IP: "10.0.0.100",
			DetectedMAC: "fa:16:3e:00:00:01", DetectedLPort: "p1"},
	}
}

func TestModelsJSONRoundTrip(t *testing.T) {
	for _, m := range sampleModels() {
		t.Run(m.Table(), func(t *testing.T) {
			data, err := json.Marshal(m)
			require.NoError(t, err)
			got, err := UnmarshalModel(m.Table(), data)
			require.NoError(t, err)
			require.Equal(t, m, got)
			require.Equal(t, m.Key(), got.Key())

			// Every field is populated, so every JSON key is written; none is null.
			var fields map[string]any
			require.NoError(t, json.Unmarshal(data, &fields))
			for k, v := range fields {
				require.NotNil(t, v, "%s is null", k)
			}

			// The zero object marshals to no null either (nil slices are omitted).
			zero, ok := NewByTable(m.Table())
			require.True(t, ok)
			data, err = json.Marshal(zero)
			require.NoError(t, err)
			require.NotContains(t, string(data), "null")
		})
	}
}

func TestPublisherJSONIsDragonflowShaped(t *testing.T) {
	// As Dragonflow's Publisher.to_json() writes it (json.dumps spacing).
	const python = `{"id": "accbdcac-51ab-5208-b961-aded0ae7118e", "uri": "tcp://10.0.0.1:8866", "last_activity_timestamp": 1565270573.123456}`
	var p Publisher
	require.NoError(t, json.Unmarshal([]byte(python), &p))
	require.Equal(t, Publisher{ID: "accbdcac-51ab-5208-b961-aded0ae7118e", URI: "tcp://10.0.0.1:8866",
		LastActivityTimestamp: 1565270573.123456}, p)

	// A publisher with only Dragonflow's fields writes exactly those fields.
	data, err := json.Marshal(&p)
	require.NoError(t, err)
	require.Equal(t, `{"id":"accbdcac-51ab-5208-b961-aded0ae7118e","uri":"tcp://10.0.0.1:8866","last_activity_timestamp":1565270573.123456}`,
		string(data))
	require.JSONEq(t, python, string(data))

	// The v2 fields come after, with their Dragonflow-style names.
	data, err = json.Marshal(sampleModels()[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"id": "4e6e57b6-e198-579e-bc76-171e668c5373", "name": "pub", "role": "neutron-server",
		"uri": "tcp://10.0.0.1:8866", "host": "node1", "pid": 4242, "epoch": 1700000000000,
		"last_activity_timestamp": 1565270573.123456}`, string(data))
}

func TestListenerAndChassisJSON(t *testing.T) {
	data, err := json.Marshal(&Listener{ID: "node1", PPID: 17, Timestamp: 1565270573.5})
	require.NoError(t, err)
	require.JSONEq(t, `{"id": "node1", "ppid": 17, "timestamp": 1565270573.5}`, string(data))

	data, err = json.Marshal(&Chassis{ID: "node1", IP: "10.0.0.1"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id": "node1", "ip": "10.0.0.1"}`, string(data))
}

func TestLogicalPortReadsDragonflowJSON(t *testing.T) {
	// Fields this package does not model (binding, security_groups, ...) are ignored.
	const python = `{"id": "p1", "topic": "t1", "version": 4, "lswitch": "n1", "macs": ["fa:16:3e:8c:2f:01"],
		"ips": ["10.0.0.5"], "subnets": ["s1"], "enabled": true, "device_owner": "compute:nova",
		"binding": {"type": "chassis", "chassis": "node1"}, "security_groups": ["sg1"], "unique_key": 3,
		"allowed_address_pairs": [{"ip_address": "10.0.0.9", "mac_address": "fa:16:3e:8c:2f:01"}]}`
	m, err := UnmarshalModel(TableLogicalPort, []byte(python))
	require.NoError(t, err)
	require.Equal(t, &LogicalPort{ID: "p1", Topic: "t1", Version: 4, LSwitch: "n1", MACs: []string{"fa:16:3e:8c:2f:01"},
		IPs: []string{"10.0.0.5"}, Subnets: []string{"s1"}, Enabled: true, DeviceOwner: "compute:nova", UniqueKey: 3,
		AllowedAddressPairs: []AddressPair{{IPAddress: "10.0.0.9", MACAddress: "fa:16:3e:8c:2f:01"}}}, m)
	require.Equal(t, "t1", m.ObjTopic())

	// false is written, so a Python reader sees False rather than None.
	data, err := json.Marshal(&LogicalPort{ID: "p2"})
	require.NoError(t, err)
	require.JSONEq(t, `{"id": "p2", "topic": "", "version": 0, "lswitch": "", "enabled": false}`, string(data))
}

func TestUnmarshalModelErrors(t *testing.T) {
	_, err := UnmarshalModel("nope", []byte(`{}`))
	require.True(t, errors.Is(err, ErrUnknownTable))
	_, err = UnmarshalModel(TableChassis, []byte(`{"id": 3}`))
	require.Error(t, err)
	require.Contains(t, err.Error(), "chassis")
}

func TestNewByTableCoversEveryTable(t *testing.T) {
	tables := Tables()
	require.Equal(t, []string{"activeport", "chassis", "listener", "lport", "lsubnet", "lswitch", "portstatus", "publisher"}, tables)
	for _, table := range tables {
		m, ok := NewByTable(table)
		require.True(t, ok, table)
		require.Equal(t, table, m.Table())
		require.Empty(t, m.Key())
	}
	for _, m := range sampleModels() {
		require.Contains(t, tables, m.Table())
	}
	_, ok := NewByTable("lrouter")
	require.False(t, ok)

	tables[0] = "mutated"
	require.Equal(t, "activeport", Tables()[0], "Tables returns a copy")
}

func TestObjTopics(t *testing.T) {
	want := map[string]string{
		TablePublisher: "", TableChassis: "", TableListener: "listener_node1",
		TableLogicalSwitch: "tenant1", TableSubnet: "tenant1", TableLogicalPort: "tenant1", TableActivePort: "tenant1",
	}
	for _, m := range sampleModels() {
		require.Equal(t, want[m.Table()], m.ObjTopic(), m.Table())
	}
	require.Equal(t, "listener_compute-1.example.org", ListenerTopic("compute-1.example.org"))
}

func TestVersioned(t *testing.T) {
	var versioned []string
	for _, m := range sampleModels() {
		v, ok := m.(Versioned)
		if !ok {
			continue
		}
		versioned = append(versioned, m.Table())
		v.SetVersion(42)
		require.Equal(t, int64(42), v.GetVersion())
		data, err := json.Marshal(v)
		require.NoError(t, err)
		require.Contains(t, string(data), `"version":42`)
	}
	require.ElementsMatch(t, []string{TableLogicalSwitch, TableSubnet, TableLogicalPort}, versioned)
}

func TestActivePortID(t *testing.T) {
	require.Equal(t, "5d2c8a1e-0000-4000-8000-00000000000110.0.0.100",
		ActivePortID("5d2c8a1e-0000-4000-8000-000000000001", "10.0.0.100"))
}

func TestPublisherUUID(t *testing.T) {
	require.Equal(t, "accbdcac-51ab-5208-b961-aded0ae7118e", PublisherUUID("MainProcess", "controller.example.org"))
	require.Equal(t, "4e6e57b6-e198-579e-bc76-171e668c5373", PublisherUUID("MainProcess", "localhost"))
}

func TestUnixSeconds(t *testing.T) {
	now := time.Date(2026, 11, 24, 10, 0, 0, 123456000, time.UTC)
	s := UnixSeconds(now)
	require.InDelta(t, 1795514400.123456, s, 1e-6)
	require.WithinDuration(t, now, FromUnixSeconds(s), time.Microsecond)
	require.True(t, FromUnixSeconds(math.NaN()).IsZero())
	require.True(t, FromUnixSeconds(math.Inf(1)).IsZero())
	require.True(t, FromUnixSeconds(1e300).IsZero())
}
