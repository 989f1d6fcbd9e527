package neutron

import (
	"net/http"
	"strings"
)

// The identity stub: a read-only sliver of Keystone v3 under /v3, so that
// the openstack CLI with auth_type none can resolve --project NAME_OR_ID
// (it asks Keystone before it filters). There is no Keystone here and
// every project exists: a project's name is its id. Point the CLI's auth
// endpoint at it:
//
//	clouds:
//	  df:
//	    auth_type: none
//	    auth: {endpoint: "http://127.0.0.1:9696/v3"}
//	    network_endpoint_override: "http://127.0.0.1:9696/"
//
// GET /v3/projects/<id> returns that project; GET /v3/projects?name=<n>
// (or ?id=) a list of the one project; anything else under /v3 is 404.

func projectDoc(r *http.Request, id string) map[string]any {
	return map[string]any{
		"id": id, "name": id, "domain_id": "default", "enabled": true, "description": "",
		"is_domain": false, "parent_id": "default", "tags": []string{},
		"links": map[string]string{"self": "http://" + r.Host + "/v3/projects/" + id},
	}
}

func (a *API) identity(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "projects" && parts[1] != "":
		writeJSON(w, http.StatusOK, map[string]any{"project": projectDoc(r, parts[1])})
	case len(parts) == 1 && parts[0] == "projects":
		q := r.URL.Query()
		ps := []any{}
		for _, key := range []string{"name", "id"} {
			if v := q.Get(key); v != "" {
				ps = append(ps, projectDoc(r, v))
				break
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"projects": ps})
	default:
		writeError(w, newErr(http.StatusNotFound, "HTTPNotFound", "The resource could not be found."))
	}
}
