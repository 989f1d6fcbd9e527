package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadNoFilesGivesDefaults(t *testing.T) {
	rec, log := newRecorder()
	cfg, err := Load(nil, log)
	require.NoError(t, err)
	assert.Empty(t, rec.all())

	assert.Equal(t, DFSettings{
		PubSubDriver:     "zmq",
		NBDBDriver:       "etcd",
		RemoteDBHosts:    []string{"127.0.0.1:2379"},
		PubSubHosts:      []string{"127.0.0.1:2379"},
		ManagementIP:     netip.MustParseAddr("127.0.0.1"),
		PublisherTimeout: 30 * time.Second,
		DBSyncTime:       120 * time.Second,
		WireMode:         WireModeV2,
	}, cfg.DF())
	assert.Equal(t, hostname(), cfg.Host())
	assert.NotEmpty(t, cfg.Host())

	assert.Equal(t, 8866, cfg.Int(GroupNeutron, OptPublisherPort))
	assert.Equal(t, "*", cfg.Str(GroupNeutron, OptPublisherBindingAddress))
	assert.True(t, cfg.Bool(GroupNeutron, OptPubSubUseMultiproc))
	assert.Equal(t, "/var/run/dragonflow/publisher.sock", cfg.Str(GroupNeutron, OptPublisherMultiprocSocket))
	assert.Equal(t, []string{"local-controller"}, cfg.List(GroupNeutron, OptSubscribeRoles))

	assert.Equal(t, 8867, cfg.Int(GroupController, OptPublisherPort))
	assert.Equal(t, "*", cfg.Str(GroupController, OptPublisherBindingAddress))
	assert.False(t, cfg.Bool(GroupController, OptPubSubUseMultiproc))
	assert.Equal(t, "/var/run/dragonflow/controller-publisher.sock", cfg.Str(GroupController, OptPublisherMultiprocSocket))
	assert.Equal(t, []string{"neutron-server"}, cfg.List(GroupController, OptSubscribeRoles))
	assert.Equal(t, PortSourceFake, cfg.PortSource())

	assert.Equal(t, AIOSettings{DataDir: "", RestListen: "127.0.0.1:9696"}, cfg.AIO())
}

func TestLoadLayersLaterFilesOverride(t *testing.T) {
	files := writeFiles(t,
		"[df]\npub_sub_driver = redis\nnb_db_driver = redis\ndb_sync_time = 10\n[neutron]\npublisher_port = 1001\n",
		"[df]\npub_sub_driver = etcd\n[neutron]\npublisher_port = 1002\n",
		"[neutron]\npublisher_port = 1003\n",
	)
	cfg, err := Load(files, nil)
	require.NoError(t, err)
	df := cfg.DF()
	assert.Equal(t, "etcd", df.PubSubDriver, "second file overrides the first")
	assert.Equal(t, "redis", df.NBDBDriver, "set only by the first file")
	assert.Equal(t, 10*time.Second, df.DBSyncTime)
	assert.Equal(t, 1003, cfg.Int(GroupNeutron, OptPublisherPort), "last file wins")
	assert.Equal(t, 8867, cfg.Int(GroupController, OptPublisherPort), "untouched default")

	// The order of the files is what decides.
	cfg, err = Load([]string{files[2], files[1], files[0]}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1001, cfg.Int(GroupNeutron, OptPublisherPort))
	assert.Equal(t, "redis", cfg.DF().PubSubDriver)
}

func TestLoadMultilineValues(t *testing.T) {
	cfg, _ := mustParse(t, `[df]
remote_db_hosts = 10.0.0.1:2379,
    10.0.0.2:2379,
    # 10.0.0.9:2379,
	10.0.0.3:2379
pub_sub_driver = nats
[df_aio]
data_dir =
    /srv/df
      aio
`)
	assert.Equal(t, []string{"10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"}, cfg.DF().RemoteDBHosts)
	assert.Equal(t, "nats", cfg.DF().PubSubDriver, "the key after a continuation is parsed")
	assert.Equal(t, "/srv/df\naio", cfg.AIO().DataDir, "indentation stripped, lines joined with \\n")
}

func TestLoadLongMultilineValue(t *testing.T) {
	// ini.v1 only looks for continuation lines inside its read buffer
	// (4 KiB by default); a longer value must still come out whole.
	var b strings.Builder
	b.WriteString("[df]\nremote_db_hosts =\n")
	var want []string
	for i := range 800 {
		h := netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(i%250 + 1)}).String() + ":2379"
		want = append(want, h)
		b.WriteString("    " + h + ",\n")
	}
	b.WriteString("wire_mode = strict\n")
	require.Greater(t, b.Len(), 3*4096)
	cfg, rec := mustParse(t, b.String())
	assert.Equal(t, want, cfg.DF().RemoteDBHosts)
	assert.Equal(t, WireModeStrict, cfg.DF().WireMode)
	assert.Empty(t, rec.all())
}

func TestLoadNoInlineComments(t *testing.T) {
	cfg, _ := mustParse(t, `# comment
; another comment
[df]
nb_db_driver = http://x;y
pub_sub_driver = a#b
[df_aio]
data_dir = "/quoted path"
`)
	assert.Equal(t, "http://x;y", cfg.DF().NBDBDriver)
	assert.Equal(t, "a#b", cfg.DF().PubSubDriver)
	assert.Equal(t, "/quoted path", cfg.AIO().DataDir, "surrounding quotes are removed")

	// A trailing "# note" is part of the value, so a number fails.
	_, err := Parse("x.ini", []byte("[neutron]\npublisher_port = 8866  # note\n"), nil)
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "8866  # note", ve.Value)
}

func TestLoadSectionNamesCaseInsensitive(t *testing.T) {
	cfg, rec := mustParse(t, "[Default]\nhost = h1\n[NEUTRON]\npublisher_port = 9000\n")
	assert.Equal(t, "h1", cfg.Host())
	assert.Equal(t, 9000, cfg.Int(GroupNeutron, OptPublisherPort))
	assert.Empty(t, rec.all())

	cfg, _ = mustParse(t, "host = before-any-section\n")
	assert.Equal(t, "before-any-section", cfg.Host(), "keys before a header are in DEFAULT")
}

func TestLoadBoolSpellings(t *testing.T) {
	for raw, want := range map[string]bool{"True": true, "yes": true, "ON": true, "1": true, "False": false, "no": false, "off": false, "0": false} {
		cfg, _ := mustParse(t, "[controller]\npub_sub_use_multiproc = "+raw+"\n")
		assert.Equal(t, want, cfg.Bool(GroupController, OptPubSubUseMultiproc), raw)
	}
}

func TestLoadWrongTypeNamesFileSectionKeyValue(t *testing.T) {
	files := writeFiles(t, "[neutron]\npublisher_port = abc\n")
	_, err := Load(files, nil)
	require.Error(t, err)
	assert.Equal(t, `config: `+files[0]+`: [neutron] publisher_port = "abc": not a port number (1-65535)`, err.Error())
	var ve *ValueError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, ValueError{File: files[0], Section: "neutron", Key: "publisher_port", Value: "abc", Err: ve.Err}, *ve)

	cases := []struct{ data, key, value, reason string }{
		{"[neutron]\npublisher_port = 0\n", "publisher_port", "0", "not a port number"},
		{"[neutron]\npublisher_port = 65536\n", "publisher_port", "65536", "not a port number"},
		{"[df]\npublisher_timeout = 1.5\n", "publisher_timeout", "1.5", "not a whole number of seconds"},
		{"[df]\npublisher_timeout = 0\n", "publisher_timeout", "0", "at least 1"},
		{"[df]\nmanagement_ip = myhost\n", "management_ip", "myhost", "not an IP address"},
		{"[df]\nenable_neutron_notifier = maybe\n", "enable_neutron_notifier", "maybe", "not a boolean"},
		{"[df]\nwire_mode = v3\n", "wire_mode", "v3", "not one of: v2, strict"},
		{"[controller]\nport_source = netlink\n", "port_source", "netlink", "not one of: fake, ovsdb"},
		{"[controller]\npublisher_binding_address = eth0\n", "publisher_binding_address", "eth0", "not an IP address"},
		{"[controller]\nsubscribe_roles = neutron-server, nova\n", "subscribe_roles", "neutron-server, nova", `item "nova": unknown role`},
		{"[neutron]\nsubscribe_roles = publisher-service\n", "subscribe_roles", "publisher-service", "registers as neutron-server"},
		{"[df_aio]\nrest_listen = 9696\n", "rest_listen", "9696", "not host:port"},
	}
	for _, tc := range cases {
		_, err := Parse("bad.ini", []byte(tc.data), nil)
		var ve *ValueError
		require.ErrorAs(t, err, &ve, tc.data)
		assert.Equal(t, "bad.ini", ve.File)
		assert.Equal(t, tc.key, ve.Key)
		assert.Equal(t, tc.value, ve.Value)
		assert.Contains(t, err.Error(), tc.reason)
	}
}

func TestLoadChoicesAccepted(t *testing.T) {
	cfg, _ := mustParse(t, "[df]\nwire_mode = strict\n[controller]\nport_source = ovsdb\n")
	assert.Equal(t, WireModeStrict, cfg.DF().WireMode)
	assert.Equal(t, PortSourceOVSDB, cfg.PortSource())
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.ini")
	ok := writeFiles(t, "[df]\n")
	_, err := Load([]string{ok[0], missing}, nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, missing, fe.File)
	assert.Equal(t, 1, strings.Count(err.Error(), missing), "file named once: %v", err)
}

func TestLoadSyntaxErrorNamesFile(t *testing.T) {
	files := writeFiles(t, "[df]\nthis line has no delimiter\n")
	_, err := Load(files, nil)
	var fe *FileError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, files[0], fe.File)
	assert.Contains(t, err.Error(), files[0])
	assert.Contains(t, err.Error(), "this line has no delimiter")

	_, err = Parse("unclosed.ini", []byte("[df\n"), nil)
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "unclosed.ini", fe.File)
}

func TestLoadDeprecatedNamesWorkAndWarnOnce(t *testing.T) {
	files := writeFiles(t,
		"[df]\npublisher_port = 7000\npublisher_bind_address = 10.0.0.5\n[df_zmq]\nipc_socket = /run/a.sock\n",
		"[df]\npublisher_port = 7001\n",
	)
	rec, log := newRecorder()
	cfg, err := Load(files, log)
	require.NoError(t, err)
	assert.Equal(t, 7001, cfg.Int(GroupNeutron, OptPublisherPort))
	assert.Equal(t, "10.0.0.5", cfg.Str(GroupNeutron, OptPublisherBindingAddress))
	assert.Equal(t, "/run/a.sock", cfg.Str(GroupNeutron, OptPublisherMultiprocSocket))
	assert.Equal(t, 8867, cfg.Int(GroupController, OptPublisherPort), "deprecated names map to [neutron] only")

	port := rec.records(map[string]string{"section": "df", "key": "publisher_port"})
	require.Len(t, port, 1, "warned once though used in two files")
	assert.Equal(t, files[0], port[0].attrs["file"])
	assert.Equal(t, "neutron", port[0].attrs["new_section"])
	assert.Equal(t, "publisher_port", port[0].attrs["new_key"])
	assert.Contains(t, port[0].msg, "[neutron] publisher_port")

	bind := rec.records(map[string]string{"section": "df", "key": "publisher_bind_address"})
	require.Len(t, bind, 1)
	assert.Equal(t, "publisher_binding_address", bind[0].attrs["new_key"])
	sock := rec.records(map[string]string{"section": "df_zmq", "key": "ipc_socket"})
	require.Len(t, sock, 1)
	assert.Equal(t, "publisher_multiproc_socket", sock[0].attrs["new_key"])
	assert.Len(t, rec.all(), 3)
}

func TestLoadCurrentNameWinsWithinFile(t *testing.T) {
	// Within a file the current name wins whatever the order...
	cfg, _ := mustParse(t, "[neutron]\npublisher_port = 9001\n[df]\npublisher_port = 9002\n")
	assert.Equal(t, 9001, cfg.Int(GroupNeutron, OptPublisherPort))
	cfg, _ = mustParse(t, "[df]\npublisher_port = 9002\n[neutron]\npublisher_port = 9001\n")
	assert.Equal(t, 9001, cfg.Int(GroupNeutron, OptPublisherPort))

	// ...but a later file wins whatever name it uses.
	files := writeFiles(t, "[neutron]\npublisher_port = 9001\n", "[df]\npublisher_port = 9002\n")
	c, err := Load(files, nil)
	require.NoError(t, err)
	assert.Equal(t, 9002, c.Int(GroupNeutron, OptPublisherPort))
}

func TestLoadUnknownKeysAndSectionsWarnOnce(t *testing.T) {
	files := writeFiles(t,
		"[df]\napps_list = l2\n[df_redis]\nretries = 5\n[neutron]\nbogus = 1\n",
		"[df]\napps_list = l2,l3\n[df_redis]\nretries = 6\n",
		"[df]\napps_list = dhcp\n",
	)
	rec, log := newRecorder()
	cfg, err := Load(files, log)
	require.NoError(t, err)
	assert.Equal(t, "zmq", cfg.DF().PubSubDriver)

	apps := rec.records(map[string]string{"section": "df", "key": "apps_list"})
	require.Len(t, apps, 1, "one warning for a key repeated in three files")
	assert.Equal(t, files[0], apps[0].attrs["file"])
	assert.Contains(t, apps[0].msg, "unknown option")

	redis := rec.records(map[string]string{"section": "df_redis"})
	require.Len(t, redis, 1, "one warning for an unknown section in two files")
	assert.Contains(t, redis[0].msg, "unknown section")
	assert.Equal(t, "[retries]", redis[0].attrs["keys"])

	require.Len(t, rec.records(map[string]string{"section": "neutron", "key": "bogus"}), 1)
	assert.Len(t, rec.all(), 3)
}

func TestLoadRemovedOptionsWarnWhy(t *testing.T) {
	cfg, rec := mustParse(t, "[df]\npublishers_ips = 10.0.0.1\nenable_df_pub_sub = True\npub_sub_multiproc_driver = zmq\n")
	assert.Equal(t, New(nil).DF(), cfg.DF())
	ips := rec.records(map[string]string{"section": "df", "key": "publishers_ips"})
	require.Len(t, ips, 1)
	assert.Contains(t, ips[0].attrs["reason"], "publisher table by role")
	for _, key := range []string{"enable_df_pub_sub", "pub_sub_multiproc_driver"} {
		r := rec.records(map[string]string{"section": "df", "key": key})
		require.Len(t, r, 1, key)
		assert.NotEmpty(t, r[0].attrs["reason"])
		assert.Contains(t, r[0].msg, "removed option")
	}
}

func TestLoadErrorLeavesNoPartialFile(t *testing.T) {
	c := New(nil)
	err := c.apply("x.ini", []byte("[df]\npub_sub_driver = redis\n[neutron]\npublisher_port = x\n"))
	require.Error(t, err)
	assert.Equal(t, "zmq", c.DF().PubSubDriver)
	assert.True(t, errors.As(err, new(*ValueError)))
}
