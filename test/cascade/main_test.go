package cascade_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// helperEnv, when set, makes the test binary run one client helper (see
// clients_test.go) instead of the tests.
const helperEnv = "CASCADE_HELPER"

// room is the room every test uses.
const room = "stage"

// plenaryBin is the binary built by TestMain.
var plenaryBin string

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		if err := runHelper(h); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(buildAndRun(m))
}

// buildAndRun builds ./cmd/plenary once for every test (GOFLAGS apply, so
// an -overlay reaches the binary too).
func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cascade-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	plenaryBin = filepath.Join(dir, "plenary")
	cmd := exec.Command("go", "build", "-o", plenaryBin, "github.com/plenaryhq/plenary/cmd/plenary")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build plenary:", err)
		return 1
	}
	return m.Run()
}
