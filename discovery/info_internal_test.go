package discovery

import (
	"strings"
	"testing"
	"time"
)

func TestRowKeepsAdminAddr(t *testing.T) {
	in := PublisherInfo{ID: "p1", Role: "local-controller", URI: "tcp://127.0.0.1:8867",
		Host: "compute-1", PID: 42, Epoch: 7, Admin: "127.0.0.1:9699"}
	b, err := encodeRow(in, time.Unix(100, 0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"admin":"127.0.0.1:9699"`) {
		t.Fatalf("row %s has no admin", b)
	}
	out, err := decodeRow("p1", b)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("decode(encode(x)) = %+v, want %+v", out, in)
	}
}
