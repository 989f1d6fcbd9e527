package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

func TestActivePortSetDelAgainstController(t *testing.T) {
	ep := startNB(t)
	_, cfg := startController(t, ep, "compute-1")
	db := openNB(t, ep)
	args := func(action string, extra ...string) []string {
		return append([]string{"--config-file", cfg, "activeport", action, "--host", "compute-1",
			"--network", "net1", "--ip", "10.0.0.100", "--port", "p1"}, extra...)
	}

	out, _, err := dfctl(t, args("set", "--mac", "fa:16:3e:aa:bb:cc")...)
	require.NoError(t, err)
	require.Equal(t, "activeport net110.0.0.100 (network net1, ip 10.0.0.100) on compute-1: written, port p1 mac fa:16:3e:aa:bb:cc topic tenant1\n", out)
	kv, err := db.Get(t.Context(), model.TableActivePort, "net110.0.0.100")
	require.NoError(t, err)
	var ap model.ActivePort
	require.NoError(t, json.Unmarshal(kv.Value, &ap))
	require.Equal(t, model.ActivePort{ID: "net110.0.0.100", Topic: "tenant1", Network: "net1", IP: "10.0.0.100",
		DetectedMAC: "fa:16:3e:aa:bb:cc", DetectedLPort: "p1"}, ap)

	out, _, err = dfctl(t, args("set", "--mac", "fa:16:3e:aa:bb:cc", "--json")...)
	require.NoError(t, err)
	var res activeport.Result
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.False(t, res.Changed)

	out, _, err = dfctl(t, args("del")...)
	require.NoError(t, err)
	require.Contains(t, out, ": deleted, port p1")
	_, err = db.Get(t.Context(), model.TableActivePort, "net110.0.0.100")
	require.ErrorIs(t, err, nb.ErrNotFound)

	_, _, err = dfctl(t, args("del")...)
	require.ErrorContains(t, err, "404")
	_, _, err = dfctl(t, "--config-file", cfg, "activeport", "set", "--host", "compute-1", "--network", "net1", "--port", "p1")
	require.EqualError(t, err, "--ip is required")
	_, _, err = dfctl(t, "--config-file", cfg, "activeport", "set", "--host", "compute-1", "--network", "net1",
		"--ip", "nope", "--port", "p1")
	require.ErrorContains(t, err, "400")
}
