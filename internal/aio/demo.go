package aio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/admin"
)

// demoHost is the compute host the demo's port is bound to.
const demoHost = "compute-2"

// demoStepTimeout bounds each step; each should take well under a second.
const demoStepTimeout = 15 * time.Second

// errDemo marks a failed demo step; the message names it.
var errDemo = errors.New("demo failed")

// Demo runs the scripted scenario against the running all-in-one and prints
// a timeline: create network, subnet and a port bound to compute-2 through
// the REST API; see the port reach compute-2's cache; port up on compute-2
// (dfctl port up) until REST shows ACTIVE; port down until DOWN; delete
// until it is gone from the cache. It returns an error naming the first step
// that failed.
func (a *AIO) Demo(ctx context.Context) error {
	ctl := a.layout.byName(demoHost)
	if ctl == nil {
		return fmt.Errorf("%w: the demo needs %s (use --controllers 2 or more)", errDemo, demoHost)
	}
	d := &demoRun{a: a, rest: "http://" + a.layout.restAddr, ctl: ctl, out: a.out, began: time.Now()}
	fmt.Fprintf(a.out, "df-aio: demo: network + port on %s, port up/down, delete (each step must finish within %s)\n",
		demoHost, demoStepTimeout)
	var netID, subnetID, portID string
	steps := []struct {
		name string
		run  func(context.Context) (string, error)
	}{
		{"REST: create network demo-net", func(ctx context.Context) (string, error) {
			var err error
			netID, err = d.create(ctx, "networks", "network", map[string]any{"name": "demo-net", "project_id": "demo"})
			return "id " + netID, err
		}},
		{"REST: create subnet 10.10.0.0/24", func(ctx context.Context) (string, error) {
			var err error
			subnetID, err = d.create(ctx, "subnets", "subnet", map[string]any{"name": "demo-subnet", "network_id": netID,
				"cidr": "10.10.0.0/24", "ip_version": 4, "project_id": "demo"})
			return "id " + subnetID, err
		}},
		{"REST: create port bound to " + demoHost, func(ctx context.Context) (string, error) {
			var err error
			portID, err = d.create(ctx, "ports", "port", map[string]any{"name": "demo-port", "network_id": netID,
				"binding:host_id": demoHost, "device_owner": "compute:nova", "device_id": "demo-vm", "project_id": "demo"})
			return "id " + portID, err
		}},
		{"port reaches " + demoHost + "'s cache", func(ctx context.Context) (string, error) {
			if a.opts.Selective {
				return "skipped: with selective topology the port arrives after port up", nil
			}
			return "", d.poll(ctx, func() (bool, error) { return d.inCache(ctx, "lport", portID) })
		}},
		{"dfctl port up --host " + demoHost, func(ctx context.Context) (string, error) {
			return d.portStatus(ctx, portID, "up")
		}},
		{"REST shows the port ACTIVE", func(ctx context.Context) (string, error) {
			return "", d.poll(ctx, func() (bool, error) { return d.restStatus(ctx, portID, "ACTIVE") })
		}},
		{"dfctl port down --host " + demoHost, func(ctx context.Context) (string, error) {
			return d.portStatus(ctx, portID, "down")
		}},
		{"REST shows the port DOWN", func(ctx context.Context) (string, error) {
			return "", d.poll(ctx, func() (bool, error) { return d.restStatus(ctx, portID, "DOWN") })
		}},
		{"REST: delete the port", func(ctx context.Context) (string, error) {
			return "", d.delete(ctx, "ports", portID)
		}},
		{"port gone from " + demoHost + "'s cache", func(ctx context.Context) (string, error) {
			return "", d.poll(ctx, func() (bool, error) {
				in, err := d.inCache(ctx, "lport", portID)
				return !in, err
			})
		}},
		{"REST: delete subnet and network", func(ctx context.Context) (string, error) {
			if err := d.delete(ctx, "subnets", subnetID); err != nil {
				return "", err
			}
			return "", d.delete(ctx, "networks", netID)
		}},
	}
	for i, s := range steps {
		sctx, cancel := context.WithTimeout(ctx, demoStepTimeout)
		began := time.Now()
		note, err := s.run(sctx)
		cancel()
		took := time.Since(began)
		if err != nil {
			fmt.Fprintf(a.out, "  [%2d] %-44s FAILED after %s: %v\n", i+1, s.name, took.Round(time.Millisecond), err)
			return fmt.Errorf("%w at step %d (%s): %w", errDemo, i+1, s.name, err)
		}
		if note != "" {
			note = "  (" + note + ")"
		}
		fmt.Fprintf(a.out, "  [%2d] %-44s ok %8s%s\n", i+1, s.name, fmtDur(took), note)
	}
	fmt.Fprintf(a.out, "df-aio: demo passed: %d steps in %s\n", len(steps), fmtDur(time.Since(d.began)))
	return nil
}

func fmtDur(d time.Duration) string {
	if d < 10*time.Millisecond {
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

type demoRun struct {
	a     *AIO
	rest  string
	ctl   *Process
	out   io.Writer
	began time.Time
}

// poll calls f until it says done, an error persists to the deadline, or ctx
// ends; the last error is returned on timeout.
func (d *demoRun) poll(ctx context.Context, f func() (bool, error)) error {
	var last error
	for {
		ok, err := f()
		if ok && err == nil {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %w)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (d *demoRun) do(ctx context.Context, method, path string, body any, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.rest+path, r)
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
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (d *demoRun) create(ctx context.Context, coll, kind string, fields map[string]any) (string, error) {
	var resp map[string]map[string]any
	if err := d.do(ctx, http.MethodPost, "/v2.0/"+coll, map[string]any{kind: fields}, &resp); err != nil {
		return "", err
	}
	id, _ := resp[kind]["id"].(string)
	if id == "" {
		return "", fmt.Errorf("POST /v2.0/%s answered no %s id", coll, kind)
	}
	return id, nil
}

func (d *demoRun) delete(ctx context.Context, coll, id string) error {
	return d.do(ctx, http.MethodDelete, "/v2.0/"+coll+"/"+id, nil, nil)
}

func (d *demoRun) restStatus(ctx context.Context, portID, want string) (bool, error) {
	var resp struct {
		Port struct {
			Status string `json:"status"`
		} `json:"port"`
	}
	if err := d.do(ctx, http.MethodGet, "/v2.0/ports/"+portID, nil, &resp); err != nil {
		return false, err
	}
	if resp.Port.Status != want {
		return false, fmt.Errorf("status %q", resp.Port.Status)
	}
	return true, nil
}

// inCache asks the controller's admin endpoint whether it holds table/key.
func (d *demoRun) inCache(ctx context.Context, table, key string) (bool, error) {
	var cache struct {
		Tables map[string]map[string]json.RawMessage `json:"tables"`
	}
	if err := admin.GetJSON(ctx, d.ctl.admin, "/cache", &cache); err != nil {
		return false, err
	}
	_, ok := cache.Tables[table][key]
	return ok, nil
}

// portStatus runs dfctl port up|down when dfctl is at hand (the operator's
// way), else posts to the controller's admin endpoint as dfctl does.
func (d *demoRun) portStatus(ctx context.Context, portID, status string) (string, error) {
	if dfctl := d.a.dfctl; dfctl != "" {
		cmd := exec.CommandContext(ctx, dfctl, "--config-file", d.a.layout.commonPath, "port", status,
			"--host", demoHost, "--port", portID)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, bytes.TrimSpace(out))
		}
		return strings.TrimSpace(string(out)), nil
	}
	var resp map[string]any
	err := admin.PostJSON(ctx, d.ctl.admin, "/port", map[string]string{"port": portID, "status": status}, &resp)
	return fmt.Sprintf("via admin endpoint: %v", resp), err
}
