package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrRequest wraps a non-2xx answer of an admin endpoint; the message is the
// endpoint's {"error": ...} text when it sent one.
var ErrRequest = errors.New("admin: request failed")

// GetJSON GETs http://addr/path and decodes the JSON answer into out.
func GetJSON(ctx context.Context, addr, path string, out any) error {
	return do(ctx, http.MethodGet, addr, path, nil, out)
}

// PostJSON POSTs in as JSON to http://addr/path and decodes the answer into
// out (out may be nil).
func PostJSON(ctx context.Context, addr, path string, in, out any) error {
	return do(ctx, http.MethodPost, addr, path, in, out)
}

func do(ctx context.Context, method, addr, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("admin: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, body)
	if err != nil {
		return fmt.Errorf("admin: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %s http://%s%s: %w", method, addr, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("admin: read answer of %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return fmt.Errorf("%w: %s %s: %s: %s", ErrRequest, method, path, resp.Status, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin: decode answer of %s: %w", path, err)
	}
	return nil
}

// DecodeBody decodes a JSON request body (at most 1 MiB) into v.
func DecodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}
