package aio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dragonflow-go/dragonflow/internal/admin"
	"github.com/dragonflow-go/dragonflow/model"
	"github.com/dragonflow-go/dragonflow/nb"
)

// childStatus is one row of the live status table.
type childStatus struct {
	c     *Process
	st    admin.Status
	err   error
	state string
}

func pollStatus(ctx context.Context, c *Process) childStatus {
	cs := childStatus{c: c, state: "running"}
	if msg, ok := c.exitError(); ok {
		cs.state = "exited (" + msg + ")"
		return cs
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	cs.err = admin.GetJSON(ctx, c.admin, "/status", &cs.st)
	switch {
	case cs.err != nil:
		cs.state = "no answer"
	case !cs.st.Ready:
		cs.state = "starting"
	}
	return cs
}

// statusTable renders one line per process: role, publisher uri, events
// in/out, gaps, resyncs, state.
func statusTable(rows []childStatus) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  PROCESS\tROLE\tPID\tPUBLISHER\tEVENTS IN\tEVENTS OUT\tGAPS\tRESYNCS\tSTATE")
	for _, r := range rows {
		uri := r.st.PublisherURI
		if uri == "" {
			uri = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n", r.c.name, r.c.role, r.c.pid(), uri,
			r.st.EventsIn, r.st.EventsOut, r.st.Gaps, r.st.Resyncs, r.state)
	}
	tw.Flush()
	return b.String()
}

// waitReady polls until every publisher is registered in the NB DB with the
// right role, the neutron listener row exists, the REST API answers and every
// process says it is ready; it names what is missing when timeout passes or a
// child exits.
func waitReady(ctx context.Context, db nb.Driver, l *layout, timeout time.Duration, out io.Writer) error {
	deadline := time.Now().Add(timeout)
	var missing []string
	for {
		missing = missing[:0]
		for _, c := range l.children {
			if msg, ok := c.exitError(); ok {
				return fmt.Errorf("%s (%s) exited while starting: %s; its log %s ends with:\n%s",
					c.name, c.role, msg, c.logPath, c.logTail(15))
			}
		}
		regs, err := registered(ctx, db)
		if err != nil {
			missing = append(missing, "NB DB: "+err.Error())
		}
		for _, c := range l.children {
			role := c.role
			if role == "publisher-service" {
				role = model.RoleNeutronServer
			}
			// With the publisher service, neutron servers publish through it.
			viaService := c.role == "neutron-server" && l.byName("publisher-service") != nil
			if !viaService && !regs[role+"/"+c.host] {
				missing = append(missing, c.name+" not registered as "+role)
			}
			if cs := pollStatus(ctx, c); cs.state != "running" {
				missing = append(missing, c.name+" "+cs.state)
			}
		}
		for host, rest := range l.restAddrs {
			if _, err := db.Get(ctx, model.TableListener, host); err != nil {
				missing = append(missing, "no port-status listener row for "+host)
			}
			if err := restUp(ctx, rest); err != nil {
				missing = append(missing, "REST API of "+host+": "+err.Error())
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %s", timeout, strings.Join(missing, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// registered is the set of "role/host" of the publisher table's rows.
func registered(ctx context.Context, db nb.Driver) (map[string]bool, error) {
	kvs, _, err := db.List(ctx, model.TablePublisher, "")
	if err != nil {
		return nil, err
	}
	m := map[string]bool{}
	for _, kv := range kvs {
		var p model.Publisher
		if json.Unmarshal(kv.Value, &p) == nil {
			m[p.Role+"/"+p.Host] = true
		}
	}
	return m, nil
}

func restUp(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusMultipleChoices {
		return fmt.Errorf("GET / answered %s", resp.Status)
	}
	return nil
}
