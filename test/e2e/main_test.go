// Package e2e runs the daemons as real processes — df-publisher-service,
// df-neutron-server with its workers, df-local-controllers — through
// internal/aio, on an embedded NB DB, and checks what a person would: the
// demo scenario, port-status load sharing between neutron servers, a killed
// controller disappearing, the API answering while the publisher service is
// down. The binaries are built once per test run (with -race when the tests
// run with it).
package e2e

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/testutil"
)

// binDir holds the daemons and dfctl built by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "df-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// build compiles the daemons into dir (with -race when the tests run with it).
func build(dir string) error {
	return testutil.BuildCommands(dir, raceEnabled, "df-publisher-service", "df-neutron-server", "df-local-controller", "dfctl")
}
