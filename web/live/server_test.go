package live_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// httpServer serves h on a loopback port for the test's lifetime.
func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
