package admin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerEndpoints(t *testing.T) {
	s, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]string
		_ = DecodeBody(r, &v)
		if v["fail"] != "" {
			WriteError(w, http.StatusBadRequest, errors.New(v["fail"]))
			return
		}
		WriteJSON(w, http.StatusOK, v)
	})
	s.Serve()
	ctx := context.Background()

	var st Status
	if err := GetJSON(ctx, s.Addr(), "/status", &st); !errors.Is(err, ErrRequest) || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("status before SetStatus: %v", err)
	}
	s.SetStatus(func() Status { return Status{Role: "local-controller", EventsIn: 3} })
	if err := GetJSON(ctx, s.Addr(), "/status", &st); err != nil || st.Role != "local-controller" || st.EventsIn != 3 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	var out map[string]string
	if err := PostJSON(ctx, s.Addr(), "/echo", map[string]string{"a": "b"}, &out); err != nil || out["a"] != "b" {
		t.Fatalf("echo = %v, %v", out, err)
	}
	if err := PostJSON(ctx, s.Addr(), "/echo", map[string]string{"fail": "no such port"}, nil); !errors.Is(err, ErrRequest) ||
		!strings.Contains(err.Error(), "no such port") {
		t.Fatalf("echo error = %v", err)
	}
	s.SetHealth(func() error { return errors.New("nb db unreachable") })
	resp, err := http.Get("http://" + s.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "unreachable") {
		t.Fatalf("healthz = %d %q", resp.StatusCode, b)
	}
	resp, err = http.Get("http://" + s.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "go_goroutines") {
		t.Fatalf("metrics lack go_goroutines")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	<-s.Done()
	if err := GetJSON(ctx, s.Addr(), "/status", &st); err == nil {
		t.Fatal("answered after Close")
	}
}

func TestCloseWithoutServe(t *testing.T) {
	s, err := Listen("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
}

func TestListenError(t *testing.T) {
	if _, err := Listen("256.0.0.1:0", nil); err == nil || !strings.Contains(err.Error(), "256.0.0.1") {
		t.Fatalf("err = %v", err)
	}
}
