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
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"
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

// build compiles the daemons into dir with the go command that runs the
// tests, with -race when the tests run with it.
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
	for _, c := range []string{"df-publisher-service", "df-neutron-server", "df-local-controller"} {
		args = append(args, "github.com/dragonflow-go/dragonflow/cmd/"+c)
	}
	cmd := exec.Command(goCmd, args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, b)
	}
	return nil
}
