// Package faults injects faults into a running dragonflow-go control plane
// — daemons as real processes through internal/aio, or in-process servers
// where a process is impossible — while ≥ 10,000 events are published over
// several topics, and checks the history of what every subscriber applied
// against what was written to the NB DB (see README.md).
package faults

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/testutil"
)

// binDir holds the daemons built by TestMain.
var binDir string

type mainRunner struct{ m *testing.M }

func (r mainRunner) Run() int {
	code := r.m.Run()
	http.DefaultClient.CloseIdleConnections()
	if true { // the scenarios that passed; the others are listed as without results
		if err := writeReadme(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: README:", err)
			return 1
		}
	}
	return code
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "df-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		os.Exit(1)
	}
	binDir = dir
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(mainRunner{m}, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// build compiles the daemons into dir (with -race when the tests run with it).
func build(dir string) error {
	return testutil.BuildCommands(dir, raceEnabled, "df-publisher-service", "df-neutron-server", "df-local-controller")
}
