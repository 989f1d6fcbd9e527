package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rolesINI = `[DEFAULT]
host = node1
[df]
pub_sub_driver = zmq
wire_mode = strict
management_ip = 192.0.2.10
publisher_timeout = 15
[neutron]
publisher_port = 9866
publisher_binding_address = 192.0.2.1
pub_sub_use_multiproc = true
publisher_multiproc_socket = /run/n.sock
subscribe_roles = local-controller
[controller]
publisher_port = 9867
pub_sub_use_multiproc = false
publisher_multiproc_socket = /run/c.sock
subscribe_roles = neutron-server, local-controller
`

func TestForRole(t *testing.T) {
	cfg, _ := mustParse(t, rolesINI)
	common := RoleSettings{PubSubDriver: "zmq", PubSubHosts: []string{"127.0.0.1:2379"}, WireMode: WireModeStrict, ManagementIP: "192.0.2.10",
		PublisherTimeout: 15 * time.Second, Host: "node1"}
	neutron := common
	neutron.Role, neutron.Section, neutron.RegisterAs = RoleNeutronServer, "neutron", RoleNeutronServer
	neutron.PublisherPort, neutron.BindAddress = 9866, "192.0.2.1"
	neutron.UseMultiproc, neutron.MultiprocSocket = true, "/run/n.sock"
	neutron.SubscribeRoles = []Role{RoleLocalController}

	service := neutron
	service.Role, service.UseMultiproc = RolePublisherService, false

	controller := common
	controller.Role, controller.Section, controller.RegisterAs = RoleLocalController, "controller", RoleLocalController
	controller.PublisherPort, controller.BindAddress = 9867, "*"
	controller.UseMultiproc, controller.MultiprocSocket = false, "/run/c.sock"
	controller.SubscribeRoles = []Role{RoleNeutronServer, RoleLocalController}

	for _, want := range []RoleSettings{neutron, service, controller} {
		got, err := cfg.ForRole(want.Role)
		require.NoError(t, err)
		assert.Equal(t, want, got, want.Role)
	}

	_, err := cfg.ForRole("nova-compute")
	assert.ErrorIs(t, err, ErrUnknownRole)
	assert.Contains(t, err.Error(), `"nova-compute"`)
}

func TestForRoleControllerMultiprocFollowsConfig(t *testing.T) {
	cfg := New(nil)
	require.NoError(t, cfg.Set(GroupController, OptPubSubUseMultiproc, "true"))
	s, err := cfg.ForRole(RoleLocalController)
	require.NoError(t, err)
	assert.True(t, s.UseMultiproc)
	s, err = cfg.ForRole(RolePublisherService)
	require.NoError(t, err)
	assert.False(t, s.UseMultiproc, "the publisher service never forwards over IPC")
	assert.Equal(t, "/var/run/dragonflow/publisher.sock", s.MultiprocSocket, "it listens on the neutron socket")
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(string(r))
		require.NoError(t, err)
		assert.Equal(t, r, got)
	}
	_, err := ParseRole("Neutron-Server")
	assert.ErrorIs(t, err, ErrUnknownRole)
	_, err = ParseRole("")
	assert.ErrorIs(t, err, ErrUnknownRole)
}

func TestAdvertiseHost(t *testing.T) {
	cases := []struct {
		bind, mgmt, want string
		wantErr          bool
	}{
		{"*", "192.0.2.10", "192.0.2.10", false},
		{"", "192.0.2.10", "192.0.2.10", false},
		{"0.0.0.0", "192.0.2.10", "192.0.2.10", false},
		{"::", "2001:db8::1", "2001:db8::1", false},
		{"198.51.100.7", "192.0.2.10", "198.51.100.7", false},
		{"2001:db8::2", "192.0.2.10", "2001:db8::2", false},
		{"*", "0.0.0.0", "", true},
		{"::", "::", "", true},
		{"*", "", "", true},
	}
	for _, tc := range cases {
		s := RoleSettings{Role: RoleNeutronServer, Section: "neutron", BindAddress: tc.bind, ManagementIP: tc.mgmt}
		got, err := s.AdvertiseHost()
		if tc.wantErr {
			require.ErrorIs(t, err, ErrNoAdvertiseAddress, "%+v", tc)
			assert.Contains(t, err.Error(), "[neutron] publisher_binding_address")
			assert.Contains(t, err.Error(), "[df] management_ip")
			continue
		}
		require.NoError(t, err, "%+v", tc)
		assert.Equal(t, tc.want, got, "%+v", tc)
	}
}

func TestBindHostAndListenAddr(t *testing.T) {
	s := RoleSettings{BindAddress: "*", PublisherPort: 8866}
	assert.Equal(t, "", s.BindHost())
	assert.Equal(t, ":8866", s.ListenAddr())
	s.BindAddress = "10.0.0.1"
	assert.Equal(t, "10.0.0.1", s.BindHost())
	assert.Equal(t, "10.0.0.1:8866", s.ListenAddr())
	s.BindAddress = "fd00::1"
	assert.Equal(t, "[fd00::1]:8866", s.ListenAddr())
}

func TestDaemonSettings(t *testing.T) {
	c := New(nil)
	if err := c.Set(GroupNeutron, OptAPIWorkers, "3"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(GroupController, OptAdminListen, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	n := c.Neutron()
	if n.APIListen != "127.0.0.1:9696" || n.APIWorkers != 3 || n.AdminListen == n.PublisherServiceAdminListen {
		t.Fatalf("Neutron() = %+v", n)
	}
	ctl := c.Controller()
	if ctl.AdminListen != "127.0.0.1:0" || ctl.PortSource != PortSourceFake || ctl.ActivePortDetector != ActivePortDetectorFake {
		t.Fatalf("Controller() = %+v", ctl)
	}
	if err := c.Set(GroupNeutron, OptAPIWorkers, "0"); err == nil {
		t.Fatal("api_workers = 0 accepted")
	}
	if err := c.Set(GroupController, OptAdminListen, "nope"); err == nil {
		t.Fatal("admin_listen = nope accepted")
	}
}

func TestBrokerDriverNeverMultiproc(t *testing.T) {
	c := New(nil)
	require.NoError(t, c.Set(GroupDF, OptPubSubDriver, "nats"))
	require.NoError(t, c.Set(GroupDF, OptRemoteDBHosts, "10.0.0.1:2379"))
	s, err := c.ForRole(RoleNeutronServer)
	require.NoError(t, err)
	require.False(t, s.UseMultiproc, "a broker driver has no ipc hop")
	require.Equal(t, []string{"10.0.0.1:2379"}, s.PubSubHosts, "defaults to remote_db_hosts")
	require.NoError(t, c.Set(GroupDF, OptPubSubHosts, "127.0.0.1:4222"))
	s, err = c.ForRole(RoleLocalController)
	require.NoError(t, err)
	require.Equal(t, []string{"127.0.0.1:4222"}, s.PubSubHosts)
	require.Equal(t, []string{"127.0.0.1:4222"}, c.DF().PubSubHosts)
	require.NoError(t, c.Set(GroupDF, OptPubSubDriver, "zmq"))
	s, err = c.ForRole(RoleNeutronServer)
	require.NoError(t, err)
	require.True(t, s.UseMultiproc)
}
