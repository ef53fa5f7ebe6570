// Package testfiles finds the real conference schedules the scheduler's
// tests import. They live outside the repository, in
// ../shared/testdata/schedules relative to the module root; a missing file
// skips the test, or fails it when CI=true.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// InCI reports whether missing inputs and backends must fail tests.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing fails tb in CI and skips it otherwise.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf(format, args...)
	}
	tb.Skipf(format, args...)
}

// RepoRoot returns the module root (the directory holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
	return dir
}

// Dir returns the directory holding the real schedule files.
func Dir(tb testing.TB) string {
	tb.Helper()
	d := filepath.Join(RepoRoot(tb), "..", "shared", "testdata", "schedules")
	if _, err := os.Stat(d); err != nil {
		Missing(tb, "real schedule files not found at %s: %v", d, err)
	}
	return d
}

// Read returns the bytes of the real schedule file name.
func Read(tb testing.TB, name string) []byte {
	tb.Helper()
	p := filepath.Join(Dir(tb), name)
	b, err := os.ReadFile(p)
	if err != nil {
		Missing(tb, "real schedule file %s: %v", p, err)
	}
	return b
}
