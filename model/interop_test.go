package model_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/model"
)

// Debian's python3-msgpack (1.0.x) with use_bin_type=False packs str exactly
// as Dragonflow's msgpack 0.5 did (str family, no str8), so it is an
// independent, byte-exact reference for the wire body. `make test` installs
// it; a missing peer is a failure, never a skip.
const pyPeer = `
import sys, json, msgpack
mode = sys.argv[1]
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    if mode == "pack":
        c = json.loads(line)
        d = {}
        for k in ("table", "key", "action", "value", "topic"):
            d[k] = c[k]
        print(msgpack.packb(d, use_bin_type=False).hex())
    else:
        d = msgpack.unpackb(bytes.fromhex(line), raw=False)
        print(json.dumps(d, sort_keys=True))
`

func runPy(t *testing.T, mode string, lines []string) []string {
	t.Helper()
	const py = "/usr/bin/python3"
	cmd := exec.Command(py, "-c", pyPeer, mode)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3-msgpack peer failed (install it: ./scripts/install-test-deps.sh): %v\n%s", err, stderr.String())
	}
	res := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, res, len(lines))
	return res
}

type pyCase struct {
	Table  string  `json:"table"`
	Key    *string `json:"key"`
	Action string  `json:"action"`
	Value  *string `json:"value"`
	Topic  *string `json:"topic"`
}

func sp(s string) *string { return &s }

func (c pyCase) update() model.DbUpdate {
	u := model.DbUpdate{Table: c.Table, Action: c.Action}
	if c.Key != nil {
		u.Key = *c.Key
	}
	if c.Value != nil {
		u.Value = []byte(*c.Value)
	}
	if c.Topic != nil {
		u.Topic = *c.Topic
	}
	return u
}

func interopCases() []pyCase {
	lportJSON := `{"id": "3f2c9a4e-1b7d-4c1e-9a57-0c8e2f6d1a3b", "topic": "8d1f0c2a6e3b4f5a9c7d1e2f3a4b5c6d", ` +
		`"name": "vm-port", "version": 3, "lswitch": "net1", "macs": ["fa:16:3e:00:00:01"], "ips": ["10.0.0.5"]}`
	return []pyCase{
		{Table: "chassis", Key: sp("c1"), Action: "create", Value: sp(`{"id": "c1"}`), Topic: sp("D")},
		{Table: "lport", Key: sp("p1"), Action: "delete", Value: nil, Topic: sp("tenant1")},
		{Table: "info", Key: nil, Action: "log", Value: sp("started"), Topic: sp("D")},
		{Table: "lport", Key: sp("p1"), Action: "update", Value: sp("ACTIVE"), Topic: sp("listener_host-1")},
		{Table: "lport", Key: sp("3f2c9a4e-1b7d-4c1e-9a57-0c8e2f6d1a3b"), Action: "set", Value: sp(lportJSON),
			Topic: sp("8d1f0c2a6e3b4f5a9c7d1e2f3a4b5c6d")},
		{Table: "t", Key: sp(strings.Repeat("k", 31)), Action: "set", Value: sp(strings.Repeat("v", 32)), Topic: sp("D")},
		{Table: "t", Key: sp("ünïcødé"), Action: "set", Value: sp(strings.Repeat("x", 70000)), Topic: nil},
		{Table: "t", Key: sp("k"), Action: "set", Value: sp(""), Topic: sp("D")},
	}
}

// Strict-mode bodies are byte-identical to what Dragonflow's packer emits.
func TestInteropStrictBodyMatchesPythonMsgpackBytes(t *testing.T) {
	cases := interopCases()
	lines := make([]string, len(cases))
	for i, c := range cases {
		b, err := json.Marshal(c)
		require.NoError(t, err)
		lines[i] = string(b)
	}
	want := runPy(t, "pack", lines)
	for i, c := range cases {
		got := hex.EncodeToString(model.EncodeBody(c.update(), model.Meta{}, model.WireStrict))
		require.Equal(t, want[i], got, "case %d (%s/%s)", i, c.Table, c.Action)
		// And Python's bytes decode to the same update.
		raw, _ := hex.DecodeString(want[i])
		u, m, err := model.DecodeBody(raw)
		require.NoError(t, err)
		require.Equal(t, c.update(), u)
		require.True(t, m.IsZero())
	}
}

// v2 bodies (with extension keys) decode in Python by name: the five keys are
// intact and the extras are plain map entries a Dragonflow peer ignores.
func TestInteropV2BodyDecodesInPython(t *testing.T) {
	cases := interopCases()
	meta := model.Meta{PublisherID: "pub-1", Epoch: 1764000000123456789, Seq: 42, PublishTime: 1764000000999}
	lines := make([]string, len(cases))
	for i, c := range cases {
		lines[i] = hex.EncodeToString(model.EncodeBody(c.update(), meta, model.WireV2))
	}
	got := runPy(t, "unpack", lines)
	for i, c := range cases {
		var d map[string]any
		dec := json.NewDecoder(strings.NewReader(got[i]))
		dec.UseNumber()
		require.NoError(t, dec.Decode(&d))
		require.Equal(t, c.Table, d["table"])
		require.Equal(t, c.Action, d["action"])
		if c.Value == nil {
			require.Nil(t, d["value"])
		} else {
			require.Equal(t, *c.Value, d["value"])
		}
		require.Equal(t, "pub-1", d["pub_id"])
		require.Equal(t, json.Number("1764000000123456789"), d["epoch"])
		require.Equal(t, json.Number("42"), d["seq"])
	}
}
