package aio

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The daemons df-aio runs as child processes.
const (
	binPublisherService = "df-publisher-service"
	binNeutronServer    = "df-neutron-server"
	binLocalController  = "df-local-controller"
)

var daemonBins = []string{binPublisherService, binNeutronServer, binLocalController}

const modulePath = "github.com/dragonflow-go/dragonflow"

// locateBins finds the daemon binaries, in this order: --bin-dir (or
// $DF_BIN_DIR); the directory of df-aio's own executable (go install puts
// them side by side); and, when df-aio runs from a checkout of the module
// (go run ./cmd/df-aio), a go build of the daemons into <data_dir>/bin.
// It says which, and why it had to build.
func locateBins(ctx context.Context, binDir, dataDir string, out io.Writer) (map[string]string, error) {
	if binDir != "" {
		bins, missing := binsIn(binDir)
		if len(missing) > 0 {
			return nil, fmt.Errorf("--bin-dir %s: missing %s", binDir, strings.Join(missing, ", "))
		}
		return bins, nil
	}
	if exe, err := os.Executable(); err == nil {
		if bins, missing := binsIn(filepath.Dir(exe)); len(missing) == 0 {
			return bins, nil
		}
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, fmt.Errorf("the daemons (%s) are neither next to df-aio nor buildable here: %w; "+
			"install them with go install %s/cmd/... or pass --bin-dir", strings.Join(daemonBins, ", "), err, modulePath)
	}
	dir := filepath.Join(dataDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	began := time.Now()
	fmt.Fprintf(out, "df-aio: building the daemons from %s into %s (go build) ...\n", root, dir)
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, b := range daemonBins {
		args = append(args, "./cmd/"+b)
	}
	args = append(args, "./cmd/dfctl")
	cmd := exec.CommandContext(ctx, goTool(), args...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build of the daemons in %s: %w\n%s", root, err, msg)
	}
	fmt.Fprintf(out, "df-aio: built in %s\n", time.Since(began).Round(time.Millisecond))
	bins, missing := binsIn(dir)
	if len(missing) > 0 {
		return nil, fmt.Errorf("go build left no %s in %s", strings.Join(missing, ", "), dir)
	}
	return bins, nil
}

func binsIn(dir string) (map[string]string, []string) {
	bins := map[string]string{}
	var missing []string
	for _, b := range append(daemonBins, "dfctl") {
		p := filepath.Join(dir, b)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			bins[b] = p
		} else if b != "dfctl" {
			missing = append(missing, b)
		}
	}
	return bins, missing
}

// moduleRoot walks up from the working directory to this module's go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			first := ""
			sc := bufio.NewScanner(f)
			if sc.Scan() {
				first = strings.TrimSpace(sc.Text())
			}
			f.Close()
			if first == "module "+modulePath {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a checkout of " + modulePath)
		}
		dir = parent
	}
}

func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func mkdirAll(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--data-dir: %w", err)
	}
	return nil
}
