package controller

import (
	"encoding/json"
	"net/http"
	"os"

	"github.com/dragonflow-go/dragonflow/controller/activeport"
	"github.com/dragonflow-go/dragonflow/controller/portsource"
	"github.com/dragonflow-go/dragonflow/internal/admin"
)

// CacheView is what GET /cache returns: the controller's local cache.
type CacheView struct {
	Host       string   `json:"host"`
	Topics     []string `json:"topics"`
	LocalPorts []string `json:"local_ports"`
	// Tables maps table → key → the object's JSON as stored.
	Tables map[string]map[string]json.RawMessage `json:"tables"`
}

// Cache returns the cache as GET /cache shows it.
func (c *Controller) Cache() CacheView {
	return CacheView{Host: c.host, Topics: c.cache.topicList(), LocalPorts: c.LocalPorts(), Tables: c.cache.snapshot()}
}

// Status returns what GET /status shows.
func (c *Controller) Status() admin.Status {
	st := c.Stats()
	fs := c.api.FabricStats()
	out := admin.Status{
		Role: string(c.api.Role()), Host: c.host, PID: os.Getpid(),
		PublisherID: c.PublisherID(), PublisherURI: c.PublisherURI(),
		Ready: c.Ready(), EventsIn: st.EventsIn, EventsOut: st.EventsOut, Gaps: st.Gaps, Resyncs: st.Resyncs,
		Drops: fs.Drops, LastGap: fs.LastGap, LastGapAt: fs.LastGapAt, LagMillis: fs.LagMillis,
		Detail: map[string]any{
			"topics":             c.cache.topicList(),
			"cache":              c.cache.sizes(),
			"local_ports":        c.LocalPorts(),
			"publishers":         c.target.count(),
			"applied":            st.Applied,
			"ignored":            st.Ignored,
			"resync_errors":      st.ResyncErrors,
			"resyncs_queued":     st.ResyncsQueued,
			"resyncs_coalesced":  st.ResyncsCoalesced,
			"port_status_sent":   st.PortStatusSent,
			"no_listener":        st.NoListener,
			"publish_errors":     st.PublishErrors,
			"selective_topology": c.selective,
			"registered":         fs.Registered,
		},
	}
	if c.state != nil {
		rs := c.ResumeStats()
		out.Detail["resume"] = map[string]any{
			"loaded": rs.Loaded, "publishers": rs.Publishers, "replayed": rs.Replayed,
			"fallbacks": rs.Fallbacks, "saves": rs.Saves, "save_errors": rs.SaveErrors,
		}
	}
	return out
}

// routes adds the controller's handlers to the admin endpoint: GET /cache,
// and the fake port source's POST /port and the fake detector's POST
// /activeport when they are in use. /status and /healthz are set too.
func (c *Controller) routes() {
	c.admin.SetStatus(c.Status)
	c.admin.SetHealth(func() error {
		if err := c.Err(); err != nil {
			return err
		}
		return nil
	})
	c.admin.HandleFunc("GET /cache", func(w http.ResponseWriter, _ *http.Request) {
		admin.WriteJSON(w, http.StatusOK, c.Cache())
	})
	if r, ok := c.src.(portsource.AdminRoute); ok {
		c.admin.Handle(r.Pattern(), r)
	}
	if r, ok := c.det.(activeport.AdminRoute); ok && c.det != nil {
		c.admin.Handle(r.Pattern(), r)
	}
}
