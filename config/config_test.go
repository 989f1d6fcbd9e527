package config

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSetValidatesLikeLoad(t *testing.T) {
	cfg := New(nil)
	require.NoError(t, cfg.Set(GroupDF, OptWireMode, "strict"))
	require.NoError(t, cfg.Set(GroupDF, OptPublisherTimeout, " 5 "))
	require.NoError(t, cfg.Set(GroupDF, OptRemoteDBHosts, "a:1, b:2,"))
	require.NoError(t, cfg.Set(GroupDF, OptManagementIP, "fd00::1"))
	assert.Equal(t, WireModeStrict, cfg.DF().WireMode)
	assert.Equal(t, 5*time.Second, cfg.Duration(GroupDF, OptPublisherTimeout))
	assert.Equal(t, []string{"a:1", "b:2"}, cfg.List(GroupDF, OptRemoteDBHosts))
	assert.Equal(t, netip.MustParseAddr("fd00::1"), cfg.IP(GroupDF, OptManagementIP))

	err := cfg.Set(GroupDF, OptWireMode, "loose")
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, `config: [df] wire_mode = "loose": not one of: v2, strict`, err.Error())
	assert.Equal(t, WireModeStrict, cfg.DF().WireMode, "a rejected value changes nothing")

	assert.ErrorIs(t, cfg.Set(GroupDF, "publishers_ips", "x"), ErrUnknownOption)
	assert.ErrorIs(t, cfg.Set(GroupDF, "publisher_port", "1"), ErrUnknownOption, "Set takes current names only")
}

func TestSetList(t *testing.T) {
	cfg := New(nil)
	require.NoError(t, cfg.SetList(GroupDF, OptRemoteDBHosts, []string{" a:1", "", "b:2"}))
	assert.Equal(t, []string{"a:1", "b:2"}, cfg.DF().RemoteDBHosts)
	require.NoError(t, cfg.SetList(GroupController, OptSubscribeRoles, []string{"local-controller"}))
	assert.Equal(t, []string{"local-controller"}, cfg.List(GroupController, OptSubscribeRoles))

	var ve *ValueError
	require.ErrorAs(t, cfg.SetList(GroupController, OptSubscribeRoles, []string{"nova"}), &ve)
	assert.Equal(t, OptSubscribeRoles, ve.Key)
	assert.Error(t, cfg.SetList(GroupDF, OptPubSubDriver, []string{"zmq"}), "not a list option")
	assert.ErrorIs(t, cfg.SetList(GroupDF, "nope", nil), ErrUnknownOption)
}

func TestListIsACopy(t *testing.T) {
	cfg := New(nil)
	l := cfg.List(GroupDF, OptRemoteDBHosts)
	l[0] = "changed"
	assert.Equal(t, []string{"127.0.0.1:2379"}, cfg.List(GroupDF, OptRemoteDBHosts))
}

func TestAccessorsPanicOnProgrammingErrors(t *testing.T) {
	cfg := New(nil)
	assert.PanicsWithValue(t, "config: option [df] nope is not registered", func() { cfg.Str(GroupDF, "nope") })
	assert.Panics(t, func() { cfg.Int(GroupDF, OptPubSubDriver) }, "wrong kind")
	assert.Panics(t, func() { cfg.Bool(GroupNeutron, OptPublisherPort) })
	assert.NotPanics(t, func() { cfg.Int(GroupNeutron, OptPublisherPort) }, "Int reads ports")
}

func TestRegistryRejectsMistakes(t *testing.T) {
	ok := func() Opt { return Opt{Name: "a", Kind: KindStr, Help: "h"} }
	cases := map[string]groupDef{
		"twice":        {Group: Group{Name: "g"}, opts: []Opt{ok(), ok()}},
		"bad default":  {Group: Group{Name: "g"}, opts: []Opt{{Name: "p", Kind: KindPort, Default: "x", Help: "h"}}},
		"no help":      {Group: Group{Name: "g"}, opts: []Opt{{Name: "a", Kind: KindStr}}},
		"choices":      {Group: Group{Name: "g"}, opts: []Opt{{Name: "a", Kind: KindInt, Default: "1", Choices: []string{"1"}, Help: "h"}}},
		"not a choice": {Group: Group{Name: "g"}, opts: []Opt{{Name: "a", Kind: KindStr, Choices: []string{"x"}, Help: "h"}}},
		"removed clash": {Group: Group{Name: "g"}, opts: []Opt{ok()},
			removed: []Removed{{OptName: OptName{"g", "a"}, Reason: "r"}}},
		"deprecated clash": {Group: Group{Name: "g"}, opts: []Opt{ok(),
			{Name: "b", Kind: KindStr, Help: "h", Deprecated: []OptName{{"g", "a"}}}}},
	}
	for name, def := range cases {
		_, err := buildRegistry(def)
		assert.Error(t, err, name)
	}
	_, err := buildRegistry(groupDef{Group: Group{Name: "g"}}, groupDef{Group: Group{Name: "g"}})
	assert.Error(t, err, "group twice")
	_, err = buildRegistry(groupDef{Group: Group{Name: "g"}, opts: []Opt{ok()}})
	assert.NoError(t, err)
}

func TestOptionsAreCopies(t *testing.T) {
	opts := Options()
	require.NotEmpty(t, opts)
	opts[0].Name = "changed"
	for i := range opts {
		opts[i].Deprecated = append(opts[i].Deprecated[:0:0], OptName{"x", "y"})
	}
	assert.Equal(t, OptHost, Options()[0].Name)
	for _, o := range Options() {
		assert.NotContains(t, o.Deprecated, OptName{"x", "y"})
	}
	assert.NotEmpty(t, RemovedOptions())
}
