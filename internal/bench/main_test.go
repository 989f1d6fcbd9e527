package bench

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as the RSS child: Run re-executes the test binary with
// ChildEnv set (SelfExec).
func TestMain(m *testing.M) {
	if IsChild() {
		os.Exit(ChildMain())
	}
	goleak.VerifyTestMain(m)
}
