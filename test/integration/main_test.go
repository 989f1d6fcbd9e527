// Package integration runs the pub/sub fabric's processes together on one
// host: embedded etcd as the NB DB, the publisher service in-process and as
// a real child process (built once per test binary), NbApi workers and
// local-controller publishers, and discovery-driven subscribers. Every port
// is a free one; every file lives in t.TempDir().
package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/dragonflow-go/dragonflow/internal/testutil"
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
	if err := testutil.BuildCommands(dir, false, "df-publisher-service"); err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}))
}
