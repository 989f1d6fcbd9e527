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
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"
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

// build compiles the daemons and dfctl into dir with the go command that
// runs the tests (the build cache makes it fast after the first time).
func build(dir string) error {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			return fmt.Errorf("no go command to build the daemons: %w", err)
		}
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	for _, c := range []string{"df-publisher-service", "df-neutron-server", "df-local-controller", "dfctl"} {
		args = append(args, "github.com/dragonflow-go/dragonflow/cmd/"+c)
	}
	cmd := exec.Command(goCmd, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, b)
	}
	return nil
}
