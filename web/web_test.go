package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// fakeDist is a minimal build: an index and one hashed asset.
var fakeDist = fstest.MapFS{
	"index.html":             {Data: []byte(`<!doctype html><title>Plenary</title><div id="app"></div>`)},
	"assets/index-abc123.js": {Data: []byte(`console.log("app")`)},
	"robots.txt":             {Data: []byte("User-agent: *\n")},
}

func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	require.NoError(t, err)
	return string(b)
}

func TestHandlerRoutes(t *testing.T) {
	h := New(fakeDist)
	cases := []struct {
		name, method, path string
		status             int
		cache, contains    string
	}{
		{"start page", "GET", "/", 200, "no-cache", `id="app"`},
		{"index file", "GET", "/index.html", 200, "no-cache", `id="app"`},
		{"tenant home", "GET", "/t/demo/", 200, "no-cache", `id="app"`},
		{"tenant without slash", "GET", "/t/demo", 200, "no-cache", `id="app"`},
		{"deep route", "GET", "/t/demo/c/fosdem-2026/agenda", 200, "no-cache", `id="app"`},
		{"stage route", "GET", "/t/demo/stage/main-stage?c=demo-con", 200, "no-cache", `id="app"`},
		{"link with token is not stored", "GET", "/t/demo/?token=abc", 200, "no-store", `id="app"`},
		{"head", "HEAD", "/t/demo/library", 200, "no-cache", ""},
		{"hashed asset", "GET", "/assets/index-abc123.js", 200, "public, max-age=31536000, immutable", `console.log`},
		{"top-level file", "GET", "/robots.txt", 200, "no-cache", "User-agent"},
		{"missing asset is 404, not the app", "GET", "/assets/nope.js", 404, "", ""},
		{"API paths are not the app", "GET", "/v1/nothing", 404, "", ""},
		{"unknown top-level path", "GET", "/admin", 404, "", ""},
		{"invalid tenant", "GET", "/t/-bad/", 404, "", ""},
		{"tenant too long", "GET", "/t/" + strings.Repeat("a", 65) + "/", 404, "", ""},
		{"traversal", "GET", "/assets/../index.html", 404, "", ""},
		{"asset directory", "GET", "/assets/", 404, "", ""},
		{"post to a page", "POST", "/t/demo/", 405, "", ""},
		{"post elsewhere", "POST", "/v1/nothing", 404, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, h, tc.method, tc.path)
			defer r.Body.Close()
			require.Equal(t, tc.status, r.StatusCode)
			if tc.cache != "" {
				require.Equal(t, tc.cache, r.Header.Get("Cache-Control"))
			}
			if tc.contains != "" {
				require.Contains(t, body(t, r), tc.contains)
			}
			if tc.status == 200 && strings.Contains(tc.contains, "app") {
				require.Contains(t, r.Header.Get("Content-Security-Policy"), "script-src 'self'")
				require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"))
				require.Equal(t, "no-referrer", r.Header.Get("Referrer-Policy"))
				require.Equal(t, "text/html; charset=utf-8", r.Header.Get("Content-Type"))
			}
		})
	}
}

func TestHandlerContentTypes(t *testing.T) {
	h := New(fakeDist)
	r := get(t, h, "GET", "/assets/index-abc123.js")
	defer r.Body.Close()
	require.Contains(t, r.Header.Get("Content-Type"), "javascript")
}

func TestMissingBuildPage(t *testing.T) {
	h := New(fstest.MapFS{".keep": {Data: nil}})
	r := get(t, h, "GET", "/t/demo/")
	defer r.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, r.StatusCode)
	b := body(t, r)
	require.Contains(t, b, "make web")
	require.Contains(t, b, "npm ci --prefix web/app")
	require.Equal(t, "no-store", r.Header.Get("Cache-Control"))

	r2 := get(t, h, "GET", "/v1/me")
	defer r2.Body.Close()
	require.Equal(t, http.StatusNotFound, r2.StatusCode)
}

// TestEmbeddedBuild checks the build embedded in this test binary: either
// the real app (after `make web`) or the placeholder page.
func TestEmbeddedBuild(t *testing.T) {
	r := get(t, Handler(), "GET", "/t/demo/")
	defer r.Body.Close()
	b := body(t, r)
	if !Built() {
		require.Equal(t, http.StatusServiceUnavailable, r.StatusCode)
		require.Contains(t, b, "make web")
		return
	}
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Contains(t, b, `<div id="app">`)
	// Every script the index refers to is served, immutable.
	for _, ref := range assetRefs(b) {
		a := get(t, Handler(), "GET", ref)
		require.Equal(t, http.StatusOK, a.StatusCode, ref)
		require.Equal(t, cacheImmutable, a.Header.Get("Cache-Control"), ref)
		_ = a.Body.Close()
	}
}

// assetRefs finds the /assets/ URLs in an HTML page.
func assetRefs(html string) []string {
	var out []string
	for _, part := range strings.Split(html, `"/assets/`)[1:] {
		end := strings.IndexByte(part, '"')
		if end > 0 {
			out = append(out, "/assets/"+part[:end])
		}
	}
	return out
}

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"demo": true, "a": true, "A-b_c.d": true, "0x": true, strings.Repeat("z", 64): true,
		"": false, "-a": false, ".a": false, "a/b": false, "a b": false, "ä": false, strings.Repeat("z", 65): false,
	} {
		require.Equal(t, want, validName(s), s)
	}
}
