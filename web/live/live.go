// Package live serves the first live page: GET /t/{tenant}/live/{room}?token=JWT
// joins the room over the signaling WebSocket with camera and microphone
// (when the token's role, or a moderator's promotion, allows), and shows
// every participant's video. Plain HTML and JavaScript, embedded in the
// binary, no build step. The full web app comes later.
package live

import (
	"embed"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
)

//go:embed assets
var assets embed.FS

// DefaultWSPath is the gateway's WebSocket endpoint the page connects to.
const DefaultWSPath = "/v1/ws"

// Options configure the page. The zero value works with the default gateway.
type Options struct {
	// WSPath is the WebSocket endpoint on the same origin. Default "/v1/ws".
	WSPath string
}

// Mux is what Register needs of a router; *http.ServeMux and
// *httpserver.Server both have it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Register adds the page (GET /t/{tenant}/live/{room}) and its script and
// style (GET /live/assets/...) to m.
func Register(m Mux, opts Options) {
	m.Handle("GET /t/{tenant}/live/{room}", Page(opts))
	m.Handle("GET /live/assets/", Assets())
}

// namePattern bounds tenant and room path segments before they reach the
// page (the gateway checks them again).
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Page serves the live page. The token stays in the query string only
// until the script has read it; the response forbids referrers and caching
// so it does not leak from there either.
func Page(opts Options) http.Handler {
	ws := opts.WSPath
	if ws == "" {
		ws = DefaultWSPath
	}
	page, err := fs.ReadFile(assets, "assets/live.html")
	if err != nil {
		return http.NotFoundHandler() // cannot happen: the file is embedded
	}
	body := strings.Replace(string(page), "{{WS_PATH}}", ws, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !namePattern.MatchString(r.PathValue("tenant")) || !namePattern.MatchString(r.PathValue("room")) {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; img-src 'self' data:; style-src 'self'; script-src 'self'")
		_, _ = w.Write([]byte(body))
	})
}

// Assets serves the page's script and stylesheet under /live/assets/.
func Assets() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return http.NotFoundHandler()
	}
	files := http.StripPrefix("/live/assets/", http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
