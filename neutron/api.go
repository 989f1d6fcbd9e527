package neutron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/dragonflow-go/dragonflow/nb"
	"github.com/dragonflow-go/dragonflow/nbapi"
)

// WorkerHeader is the response header naming the process (worker) that
// answered: APIConfig.Worker.
const WorkerHeader = "X-DF-Worker"

// APIConfig is what NewAPI needs.
type APIConfig struct {
	// Nb is the process's NB API (role neutron-server); required. The API
	// does not close it.
	Nb *nbapi.NbApi
	// Worker, when set, is sent in every response's X-DF-Worker header.
	Worker string
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock of created_at/updated_at; nil is time.Now.
	Now func() time.Time
}

// API is the Neutron v2.0-shaped REST API (an http.Handler). Safe for
// concurrent use; it owns no goroutine.
type API struct {
	store  *store
	worker string
	log    *slog.Logger
	stats  *APIStats
	colls  map[string]collection
}

// collection is one REST collection (networks, subnets, ports).
type collection interface {
	// singular is the envelope name: "network".
	singular() string
	list(ctx context.Context, q url.Values) ([]view, error)
	show(ctx context.Context, id string) (view, error)
	create(ctx context.Context, r *http.Request, a attrs) (view, error)
	update(ctx context.Context, id string, a attrs) (view, error)
	remove(ctx context.Context, id string) error
}

// NewAPI builds the REST API on cfg.Nb.
func NewAPI(cfg APIConfig) (*API, error) {
	if cfg.Nb == nil {
		return nil, errors.New("neutron: NewAPI: no NbApi")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	a := &API{worker: cfg.Worker, log: log.With("component", "neutron-api"), stats: &APIStats{}}
	a.store = &store{nb: cfg.Nb, db: cfg.Nb.DB(), log: a.log, stats: a.stats, now: now}
	a.colls = map[string]collection{
		"networks": &networks{s: a.store},
		"subnets":  &subnets{s: a.store},
		"ports":    &ports{s: a.store},
	}
	return a, nil
}

// Stats are the API's counters.
func (a *API) Stats() *APIStats { return a.stats }

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := "req-" + uuid.NewString()
	h := w.Header()
	h.Set("X-Openstack-Request-Id", reqID)
	if a.worker != "" {
		h.Set(WorkerHeader, a.worker)
	}
	sw := &statusWriter{ResponseWriter: w}
	resource := a.route(sw, r)
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	a.stats.request(RequestKey{Resource: resource, Method: r.Method, Code: sw.code})
	a.log.Debug("request", "method", r.Method, "path", r.URL.RequestURI(), "code", sw.code,
		"took", time.Since(start), "request_id", reqID)
}

// route dispatches r and returns the resource label of the request.
func (a *API) route(w http.ResponseWriter, r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, ".json")
	if path == "" || path == "/" {
		if allow(w, r, http.MethodGet) {
			a.versions(w, r)
		}
		return "versions"
	}
	if rest, ok := strings.CutPrefix(path, "/v3"); ok && (rest == "" || rest[0] == '/') {
		if allow(w, r, http.MethodGet) {
			a.identity(w, r, rest)
		}
		return "identity"
	}
	rest, ok := strings.CutPrefix(path, "/v2.0")
	if !ok || (rest != "" && rest[0] != '/') {
		writeError(w, newErr(http.StatusNotFound, "HTTPNotFound", "The resource could not be found."))
		return "other"
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if parts[0] == "" {
		if allow(w, r, http.MethodGet) {
			a.resources(w, r)
		}
		return "versions"
	}
	if parts[0] == "extensions" {
		if len(parts) > 2 {
			writeError(w, newErr(http.StatusNotFound, "HTTPNotFound", "The resource could not be found."))
		} else if allow(w, r, http.MethodGet) {
			a.extensions(w, parts[1:])
		}
		return "extensions"
	}
	c, ok := a.colls[parts[0]]
	if !ok || len(parts) > 2 {
		writeError(w, newErr(http.StatusNotFound, "HTTPNotFound", "The resource could not be found."))
		return "other"
	}
	if len(parts) == 1 {
		if allow(w, r, http.MethodGet, http.MethodPost) {
			a.serveCollection(w, r, c)
		}
	} else if allow(w, r, http.MethodGet, http.MethodPut, http.MethodDelete) {
		a.serveMember(w, r, c, parts[1])
	}
	return parts[0]
}

// allow answers 405 HTTPMethodNotAllowed (with Allow) unless r's method is
// one of methods (HEAD counts as GET).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (r.Method == http.MethodHead && m == http.MethodGet) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, newErr(http.StatusMethodNotAllowed, "HTTPMethodNotAllowed",
		"The method %s is not allowed for this resource.", r.Method))
	return false
}

func (a *API) serveCollection(w http.ResponseWriter, r *http.Request, c collection) {
	ctx := r.Context()
	if r.Method == http.MethodPost {
		in, err := decodeEnvelope(r, c.singular())
		if err != nil {
			a.fail(w, r, err)
			return
		}
		v, err := c.create(ctx, r, in)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{c.singular(): v})
		return
	}
	q := r.URL.Query()
	vs, err := c.list(ctx, q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for i := range vs {
		vs[i] = project(vs[i], q)
	}
	writeJSON(w, http.StatusOK, map[string]any{c.singular() + "s": vs})
}

func (a *API) serveMember(w http.ResponseWriter, r *http.Request, c collection, id string) {
	ctx := r.Context()
	var (
		v   view
		err error
	)
	switch r.Method {
	case http.MethodDelete:
		if err = c.remove(ctx, id); err == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	case http.MethodPut:
		var in attrs
		if in, err = decodeEnvelope(r, c.singular()); err == nil {
			v, err = c.update(ctx, id, in)
		}
	default:
		v, err = c.show(ctx, id)
		v = project(v, r.URL.Query())
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{c.singular(): v})
}

// fail writes err; unexpected errors (not *Error) are logged.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, err)
}

// isNotFound reports whether err is the NB DB's "no such row".
func isNotFound(err error) bool { return errors.Is(err, nb.ErrNotFound) }

// wrapNotFound turns a missing row into <kind>NotFound.
func wrapNotFound(err error, kind, id string) error {
	if isNotFound(err) {
		return notFound(kind, id)
	}
	if err != nil {
		return fmt.Errorf("neutron: %s %s: %w", strings.ToLower(kind), id, err)
	}
	return nil
}
