// Package integration runs the pub/sub fabric's processes together on one
// host: embedded etcd as the NB DB, the publisher service in-process and as
// a real child process (built once per test binary), NbApi workers and
// local-controller publishers, and discovery-driven subscribers. Every port
// is a free one; every file lives in t.TempDir().
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"go.uber.org/goleak"
)

// serviceBin is the df-publisher-service binary built by TestMain.
var serviceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "df-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	serviceBin = filepath.Join(dir, "df-publisher-service")
	if err := build(serviceBin, "github.com/dragonflow-go/dragonflow/cmd/df-publisher-service"); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// build compiles pkg to out with the go command that runs the tests (the
// build cache makes it fast after the first time).
func build(out, pkg string) error {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			return fmt.Errorf("no go command to build %s: %w", pkg, err)
		}
	}
	cmd := exec.Command(goCmd, "build", "-o", out, pkg)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, b)
	}
	return nil
}
