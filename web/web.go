package web

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist is the built app (web/dist). In a fresh clone it holds only .keep.
//
//go:embed all:dist
var dist embed.FS

// Cache-Control values. Hashed assets never change under their name;
// index.html must be revalidated so a new build is picked up at once.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheRevalid   = "no-cache"
)

// contentSecurityPolicy allows only same-origin scripts and styles, media
// from MediaStreams and hls.js's blob URLs, and WebSockets to the origin.
const contentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob: mediastream:; connect-src 'self' ws: wss:; " +
	"worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the app embedded at build time. Mount it as the
// catch-all, without a method: mux.Handle("/", web.Handler()) — a "GET /"
// pattern would conflict with method-less prefixes such as "/media/" in
// net/http's precedence rules. Paths that are not the app's answer 404.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return missingBuild() // cannot happen: dist is embedded
	}
	return New(sub)
}

// Built reports whether the embedded app was built (index.html present).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// New serves the app found in fsys (the contents of a dist folder). Tests
// and `npm run dev`-style setups may pass os.DirFS.
func New(fsys fs.FS) http.Handler {
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return missingBuild()
	}
	return &app{fsys: fsys, index: index, modified: time.Now()}
}

// app is the handler of a built app.
type app struct {
	fsys     fs.FS
	index    []byte
	modified time.Time
}

// ServeHTTP implements http.Handler.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if isAppRoute(p) || strings.HasPrefix(p, "/assets/") {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		http.NotFound(w, r)
		return
	}
	switch {
	case isAppRoute(p):
		a.serveIndex(w, r)
	case strings.HasPrefix(p, "/assets/"):
		a.serveFile(w, r, strings.TrimPrefix(p, "/"), cacheImmutable)
	case p != "/" && !strings.Contains(p[1:], "/") && path.Ext(p) != "":
		// Top-level files of the build (icons, robots.txt): not hashed.
		a.serveFile(w, r, p[1:], cacheRevalid)
	default:
		http.NotFound(w, r)
	}
}

// isAppRoute reports whether p is a page of the app: the start page,
// /index.html, and every path under /t/{tenant}/.
func isAppRoute(p string) bool {
	if p == "/" || p == "/index.html" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/t/")
	if !ok {
		return false
	}
	tenant, _, _ := strings.Cut(rest, "/")
	return validName(tenant)
}

// validName bounds a tenant segment the same way the gateway does
// (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$).
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// securityHeaders are sent with every page.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self), fullscreen=(self)")
}

// serveIndex answers an app route with index.html. The links people get
// carry ?token=; no-store keeps such a response out of shared caches too.
func (a *app) serveIndex(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", cacheRevalid)
	if r.URL.Query().Has("token") {
		h.Set("Cache-Control", "no-store")
	}
	http.ServeContent(w, r, "index.html", a.modified, bytes.NewReader(a.index))
}

// serveFile serves one file of the build with the given caching.
func (a *app) serveFile(w http.ResponseWriter, r *http.Request, name, cache string) {
	if !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	f, err := a.fsys.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	rs, ok := f.(interface {
		Read([]byte) (int, error)
		Seek(int64, int) (int64, error)
	})
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", cache)
	// embed.FS files have no modification time; the hashed name is the
	// validator, so no Last-Modified is needed.
	http.ServeContent(w, r, name, time.Time{}, rs)
}

// missingPage is served when the app was not built into this binary.
const missingPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Plenary: web app not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5">
<h1>The web app is not built into this binary</h1>
<p>The API and the WebSocket gateway work, but the browser app was not built before
<code>go build</code>. Build it, then rebuild the binary:</p>
<pre style="background:#eee; padding:0.8rem">make web
make build</pre>
<p>(<code>make web</code> runs <code>npm ci --prefix web/app &amp;&amp; npm run build --prefix web/app</code>,
which needs Node.js 20 or later.)</p>
</body></html>
`

// missingBuild serves the "run make web" page on every app route.
func missingBuild() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isAppRoute(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		securityHeaders(h)
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(missingPage))
	})
}
