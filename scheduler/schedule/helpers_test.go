package schedule

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// inCI reports whether missing test inputs and tools must fail the test
// instead of skipping it.
func inCI() bool { return os.Getenv("CI") == "true" }

// missing fails the test in CI and skips it otherwise.
func missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if inCI() {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format, args...)
}

// repoRoot walks up from the package directory to the directory holding
// go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	require.NoError(tb, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// schedulesDir is ../shared/testdata/schedules relative to the repository
// root: the real conference files live outside the repository.
func schedulesDir(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join(repoRoot(tb), "..", "shared", "testdata", "schedules")
	if _, err := os.Stat(dir); err != nil {
		missing(tb, "real schedule files not found at %s: %v", dir, err)
	}
	return dir
}

// readSchedule returns the bytes of a real schedule file.
func readSchedule(tb testing.TB, name string) []byte {
	tb.Helper()
	p := filepath.Join(schedulesDir(tb), name)
	b, err := os.ReadFile(p)
	if err != nil {
		missing(tb, "real schedule file %s: %v", p, err)
	}
	return b
}

// importFile imports a real schedule file, failing the test on error.
func importFile(tb testing.TB, name string, f Format) *Schedule {
	tb.Helper()
	s, err := Limits{}.ImportBytes(readSchedule(tb, name), f)
	require.NoError(tb, err, name)
	return s
}

// requireTool returns the path of an external program the test needs.
func requireTool(tb testing.TB, name, hint string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(tb, "%s not installed (%s)", name, hint)
	}
	return p
}

// realFiles are every real schedule file with its format.
var realFiles = []struct {
	name   string
	format Format
}{
	{"fosdem-2026.xml", FormatFrabXML},
	{"fosdem-2025.xml", FormatFrabXML},
	{"39c3.schedule.xml", FormatFrabXML},
	{"39c3.schedule.json", FormatC3VOCJSON},
	{"frab-camp2019.json", FormatC3VOCJSON},
	{"pretalx-rc3.json", FormatC3VOCJSON},
}
