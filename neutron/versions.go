package neutron

import "net/http"

// Extension is one entry of GET /v2.0/extensions.
type Extension struct {
	Alias       string   `json:"alias"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Updated     string   `json:"updated"`
	Links       []string `json:"links"`
}

const extUpdated = "2024-01-01T00:00:00-00:00"

// Extensions are the Neutron API extensions this server implements, as far
// as the attributes it returns and accepts go. The openstack CLI asks for
// some of them before it sends their attributes.
var Extensions = []Extension{
	{Alias: "allowed-address-pairs", Name: "Allowed Address Pairs", Description: "Provides allowed address pairs"},
	{Alias: "binding", Name: "Port Binding", Description: "Expose port bindings of a virtual port to external application"},
	{Alias: "external-net", Name: "Neutron external network", Description: "Adds external network attribute to network resource."},
	{Alias: "filter-validation", Name: "Filter parameters validation", Description: "Provides validation on filter parameters."},
	{Alias: "net-mtu", Name: "Network MTU", Description: "Provides MTU attribute for a network resource."},
	{Alias: "project-id", Name: "project_id field enabled", Description: "Extension that indicates that project_id field is enabled."},
	{Alias: "provider", Name: "Provider Network", Description: "Expose mapping of virtual networks to physical networks"},
	{Alias: "standard-attr-description", Name: "standard-attr-description", Description: "Extension to add descriptions to standard attributes"},
	{Alias: "standard-attr-revisions", Name: "Resource revision numbers", Description: "This extension will display the revision number of neutron resources."},
	{Alias: "standard-attr-timestamp", Name: "Resource timestamps", Description: "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes."},
	{Alias: "tag-ports-during-bulk-creation", Name: "Tag Ports During Bulk Creation", Description: "Allow to tag ports during bulk creation"},
}

func init() {
	for i := range Extensions {
		Extensions[i].Updated = extUpdated
		Extensions[i].Links = []string{}
	}
}

// versions answers GET /: the one API version, linked through the Host the
// client used.
func (a *API) versions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v2.0", "status": "CURRENT",
		"links": []any{map[string]string{"href": "http://" + r.Host + "/v2.0/", "rel": "self"}},
	}}})
}

// resources answers GET /v2.0: the collections.
func (a *API) resources(w http.ResponseWriter, r *http.Request) {
	var rs []any
	for _, name := range []string{"network", "subnet", "port"} {
		rs = append(rs, map[string]any{
			"name": name, "collection": name + "s",
			"links": []any{map[string]string{"href": "http://" + r.Host + "/v2.0/" + name + "s", "rel": "self"}},
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"resources": rs})
}

// extensions answers GET /v2.0/extensions[/<alias>].
func (a *API) extensions(w http.ResponseWriter, alias []string) {
	if len(alias) == 0 || alias[0] == "" {
		writeJSON(w, http.StatusOK, map[string]any{"extensions": Extensions})
		return
	}
	for _, e := range Extensions {
		if e.Alias == alias[0] {
			writeJSON(w, http.StatusOK, map[string]any{"extension": e})
			return
		}
	}
	writeError(w, newErr(http.StatusNotFound, "ExtensionNotFound", "Extension with alias %s does not exist", alias[0]))
}
