package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Module is this repository's module path.
const Module = "github.com/dragonflow-go/dragonflow"

// BuildCommands compiles the commands cmd/<name> of this module into dir,
// with the go command that runs the tests (its build cache makes it fast
// after the first time), and with -race when race is true (pass the test
// binary's own race setting, so the daemons are checked as the tests are).
func BuildCommands(dir string, race bool, names ...string) error {
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		if goCmd, err = exec.LookPath("go"); err != nil {
			return fmt.Errorf("no go command to build %v: %w", names, err)
		}
	}
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	if race {
		args = append(args, "-race")
	}
	for _, n := range names {
		args = append(args, Module+"/cmd/"+n)
	}
	if b, err := exec.Command(goCmd, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %v: %w\n%s", args, err, b)
	}
	return nil
}
