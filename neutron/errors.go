package neutron

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is a Neutron API fault: it is written as
// {"NeutronError": {"type": Type, "message": Message, "detail": ""}} with
// Code. Handlers return it (wrapped or not); anything else becomes a 500
// HTTPInternalServerError whose message hides the cause (it is logged).
type Error struct {
	Code    int
	Type    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Type, e.Code, e.Message) }

// errBody is the JSON shape of an Error.
type errBody struct {
	NeutronError struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Detail  string `json:"detail"`
	} `json:"NeutronError"`
}

func newErr(code int, typ, format string, args ...any) *Error {
	return &Error{Code: code, Type: typ, Message: fmt.Sprintf(format, args...)}
}

// badRequest is Neutron's HTTPBadRequest for an invalid attribute value.
func badRequest(attr, format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for %s. Reason: %s.", attr, fmt.Sprintf(format, args...))
}

// badInput is Neutron's HTTPBadRequest with a free-form message.
func badInput(format string, args ...any) *Error {
	return newErr(http.StatusBadRequest, "HTTPBadRequest", format, args...)
}

// notFound is <Kind>NotFound, e.g. PortNotFound: "Port X could not be found."
func notFound(kind, id string) *Error {
	return newErr(http.StatusNotFound, kind+"NotFound", "%s %s could not be found.", kind, id)
}

func conflict(typ, format string, args ...any) *Error {
	return newErr(http.StatusConflict, typ, format, args...)
}

// writeError writes err as a NeutronError; non-*Error errors become 500.
func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = newErr(http.StatusInternalServerError, "HTTPInternalServerError",
			"Request Failed: internal server error while processing your request.")
	}
	var b errBody
	b.NeutronError.Type = e.Type
	b.NeutronError.Message = e.Message
	writeJSON(w, e.Code, b)
}

// writeJSON writes v with code and the JSON content type.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
