package k8stest

import (
	"os"
	"testing"
)

// TestMain removes the plenary binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}
