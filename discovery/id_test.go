package discovery_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/config"
	"github.com/dragonflow-go/dragonflow/discovery"
	"github.com/dragonflow-go/dragonflow/model"
)

// helperEnv makes the test binary print NewID and NewEpoch and exit, as a
// second process on this host (see TestMain).
const helperEnv = "DISCOVERY_TEST_PRINT_ID"

func helperProcess() bool {
	host, ok := os.LookupEnv(helperEnv)
	if !ok {
		return false
	}
	fmt.Println(discovery.NewID(model.RoleNeutronServer, host), discovery.NewEpoch())
	return true
}

// idOfProcess runs a new process that prints its id for host.
func idOfProcess(t *testing.T, host string) (id, epoch string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	// A race-enabled binary sleeps 1 s at exit unless told not to.
	cmd.Env = append(os.Environ(), helperEnv+"="+host, "GORACE=atexit_sleep_ms=0")
	out, err := cmd.Output()
	require.NoError(t, err)
	fields := strings.Fields(string(out))
	require.Len(t, fields, 2, "helper printed %q", out)
	return fields[0], fields[1]
}

// TestNewIDDistinctPerProcess: two processes on one host, same role and
// host name, get different ids and epochs, where Dragonflow's
// uuid5("MainProcess.<fqdn>") gave both the same.
func TestNewIDDistinctPerProcess(t *testing.T) {
	id1, epoch1 := idOfProcess(t, "localhost")
	id2, epoch2 := idOfProcess(t, "localhost")
	assert.NotEqual(t, id1, id2)
	assert.NotEqual(t, epoch1, epoch2)
	assert.NotEqual(t, id1, discovery.NewID(model.RoleNeutronServer, "localhost"), "nor equal to this process's")
	assert.Equal(t, model.PublisherUUID("MainProcess", "localhost"), model.PublisherUUID("MainProcess", "localhost"),
		"the Dragonflow scheme it replaces collides")
	_, err := uuid.Parse(id1)
	assert.NoError(t, err)
}

func TestNewIDStableWithinProcess(t *testing.T) {
	a := discovery.NewID(model.RoleNeutronServer, "h1")
	assert.Equal(t, a, discovery.NewID(model.RoleNeutronServer, "h1"))
	assert.NotEqual(t, a, discovery.NewID(model.RoleLocalController, "h1"), "one id per role")
	assert.NotEqual(t, a, discovery.NewID(model.RoleNeutronServer, "h2"))
}

func TestCheckURI(t *testing.T) {
	for _, uri := range []string{
		"tcp://192.0.2.1:8866", "tcp://[2001:db8::1]:8866", "tcp://controller.example.org:8867",
		"ipc:///run/dragonflow/publisher.sock", "redis://192.0.2.1:6379/0",
	} {
		assert.NoError(t, discovery.CheckURI(uri), uri)
	}
	for _, uri := range []string{"tcp://*:8866", "tcp://0.0.0.0:1", "tcp://[::]:1", "tcp://:1", "redis://*", "etcd://[::]"} {
		assert.ErrorIs(t, discovery.CheckURI(uri), discovery.ErrWildcardURI, uri)
	}
	for _, uri := range []string{"", "tcp://", "tcp://host", "ipc://", "host:1"} {
		err := discovery.CheckURI(uri)
		assert.ErrorIs(t, err, discovery.ErrInvalid, uri)
		assert.NotErrorIs(t, err, discovery.ErrWildcardURI, uri)
	}
}

func TestAdvertiseURI(t *testing.T) {
	s := config.RoleSettings{Role: config.RoleNeutronServer, Section: "neutron", PublisherPort: 8866}
	for _, tc := range []struct{ bind, mgmt, want string }{
		{"*", "192.0.2.10", "tcp://192.0.2.10:8866"},
		{"0.0.0.0", "192.0.2.10", "tcp://192.0.2.10:8866"},
		{"192.0.2.20", "192.0.2.10", "tcp://192.0.2.20:8866"},
		{"*", "2001:db8::10", "tcp://[2001:db8::10]:8866"},
	} {
		s.BindAddress, s.ManagementIP = tc.bind, tc.mgmt
		got, err := discovery.AdvertiseURI("tcp", s)
		require.NoError(t, err, "%+v", tc)
		assert.Equal(t, tc.want, got)
		assert.NoError(t, discovery.CheckURI(got))
	}
	s.BindAddress, s.ManagementIP = "*", "0.0.0.0"
	_, err := discovery.AdvertiseURI("tcp", s)
	require.ErrorIs(t, err, config.ErrNoAdvertiseAddress)
	assert.Contains(t, err.Error(), "management_ip")
}
