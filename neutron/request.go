package neutron

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// DefaultProjectID is the project of a resource created with no
// project_id/tenant_id in the body and no X-Project-Id header: what the
// openstack CLI with auth_type none sends. It is the literal string
// "admin", so `--project admin` finds these resources.
const DefaultProjectID = "admin"

// ProjectHeader names the project of a request when the body does not:
// keystonemiddleware sets it from the token; with no authentication a
// client may set it itself.
const ProjectHeader = "X-Project-Id"

// attrs are the attributes of one resource in a request body.
type attrs map[string]json.RawMessage

// decodeEnvelope reads {"<resource>": {...}} and returns the inner object.
func decodeEnvelope(r *http.Request, resource string) (attrs, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badInput("Could not read the request body: %v", err)
	}
	if len(data) > maxBody {
		return nil, newErr(http.StatusRequestEntityTooLarge, "HTTPRequestEntityTooLarge", "Request body larger than %d bytes.", maxBody)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, badInput("Malformed request body: %v", err)
	}
	inner, ok := env[resource]
	if !ok || len(env) != 1 {
		return nil, badInput("Resource body required: expected one object named %q.", resource)
	}
	var a attrs
	if err := json.Unmarshal(inner, &a); err != nil || a == nil {
		return nil, badInput("Malformed request body: %q must be an object.", resource)
	}
	return a, nil
}

// check fails on attributes the resource does not know (Neutron:
// "Unrecognized attribute(s)"); ignored ones are accepted and dropped.
func (a attrs) check(known, ignored []string) error {
	var bad []string
	for k := range a {
		if !slices.Contains(known, k) && !slices.Contains(ignored, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return badInput("Unrecognized attribute(s) '%s'", strings.Join(bad, ", "))
	}
	return nil
}

// readOnly fails when an update sets one of the attributes.
func (a attrs) readOnly(names ...string) error {
	for _, n := range names {
		if _, ok := a[n]; ok {
			return badInput("Cannot update read-only attribute %s", n)
		}
	}
	return nil
}

func (a attrs) has(name string) bool { _, ok := a[name]; return ok }

func (a attrs) isNull(name string) bool {
	v, ok := a[name]
	return ok && bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// decode decodes attribute name into out when present; ok says whether it was.
func (a attrs) decode(name string, out any, want string) (bool, error) {
	v, ok := a[name]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(v, out); err != nil {
		return true, badRequest(name, "'%s' is not a valid %s", strings.TrimSpace(string(v)), want)
	}
	return true, nil
}

func (a attrs) str(name string, dst *string) (bool, error) {
	if a.isNull(name) {
		*dst = ""
		return true, nil
	}
	return a.decode(name, dst, "string")
}

func (a attrs) boolean(name string, dst *bool) (bool, error) {
	var v any
	ok, err := a.decode(name, &v, "boolean")
	if !ok || err != nil {
		return ok, err
	}
	switch x := v.(type) {
	case bool:
		*dst = x
	case string:
		switch strings.ToLower(x) {
		case "true", "1", "yes", "on":
			*dst = true
		case "false", "0", "no", "off":
			*dst = false
		default:
			return true, badRequest(name, "'%s' cannot be converted to boolean", x)
		}
	default:
		return true, badRequest(name, "'%v' cannot be converted to boolean", v)
	}
	return true, nil
}

func (a attrs) integer(name string, dst *int) (bool, error) {
	return a.decode(name, dst, "integer")
}

func (a attrs) strList(name string, dst *[]string) (bool, error) {
	if a.isNull(name) {
		*dst = nil
		return true, nil
	}
	return a.decode(name, dst, "list of strings")
}

// project resolves the project of a new resource: project_id or tenant_id
// in the body (they must agree), else the X-Project-Id header, else
// DefaultProjectID.
func (a attrs) project(r *http.Request) (string, error) {
	var pid, tid string
	if _, err := a.str("project_id", &pid); err != nil {
		return "", err
	}
	if _, err := a.str("tenant_id", &tid); err != nil {
		return "", err
	}
	switch {
	case pid != "" && tid != "" && pid != tid:
		return "", badInput("'project_id' and 'tenant_id' do not match")
	case pid != "":
		return pid, nil
	case tid != "":
		return tid, nil
	case r.Header.Get(ProjectHeader) != "":
		return r.Header.Get(ProjectHeader), nil
	}
	return DefaultProjectID, nil
}

// checkLen fails when v is longer than max bytes (Neutron: 255 for names).
func checkLen(name, v string, max int) error {
	if len(v) > max {
		return badRequest(name, "'%s' exceeds maximum length of %d", v, max)
	}
	return nil
}
