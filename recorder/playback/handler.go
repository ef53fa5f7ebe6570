package playback

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder/storage"
)

// DefaultMount is the URL path the handler serves under.
const DefaultMount = "/media/"

// Cache lifetimes.
const (
	// PlaylistCache is the Cache-Control of playlists: short, so that a
	// re-packaged VOD is picked up and the signed rewrite stays per-URL.
	PlaylistCache = "private, max-age=5"
	// SegmentCache is the Cache-Control of segments: their URLs never
	// change content.
	SegmentCache = "public, max-age=31536000, immutable"
	// OtherCache is for posters and vod.json.
	OtherCache = "private, max-age=300"
)

// maxPlaylist bounds a playlist read into memory for signing.
const maxPlaylist = 4 << 20

// contentTypes maps file extensions to Content-Type.
var contentTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".ts":   "video/mp2t",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".aac":  "audio/aac",
	".vtt":  "text/vtt; charset=utf-8",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".json": "application/json",
}

// Handler serves GET and HEAD /media/{tenant}/{path} from a Storage after
// checking the URL's signature.
type Handler struct {
	store  storage.Storage
	signer *Signer
	log    *slog.Logger
	mount  string
}

// NewHandler returns a handler mounted at DefaultMount (register it on
// "/media/").
func NewHandler(store storage.Storage, signer *Signer, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{store: store, signer: signer, log: log.With("component", "playback"), mount: DefaultMount}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.fail(w, http.StatusMethodNotAllowed, "method")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, h.mount)
	if !ok {
		h.fail(w, http.StatusNotFound, "not_found")
		return
	}
	ts, file, ok := strings.Cut(rest, "/")
	t, err := tenant.Parse(ts)
	if !ok || err != nil {
		h.fail(w, http.StatusNotFound, "not_found")
		return
	}
	key := storage.Key(t, file)
	if err := storage.ValidKey(key); err != nil {
		// Traversal attempts and odd names: nothing is stored under them.
		h.fail(w, http.StatusNotFound, "not_found")
		return
	}
	if err := h.signer.Verify(t, file, r.URL.Query()); err != nil {
		h.log.Debug("playback refused", "tenant", t, "path", file, "err", err)
		h.fail(w, http.StatusForbidden, "forbidden")
		return
	}
	obj, err := h.store.Open(r.Context(), key)
	if errors.Is(err, storage.ErrNotFound) {
		h.fail(w, http.StatusNotFound, "not_found")
		return
	}
	if err != nil {
		h.log.Warn("playback open failed", "tenant", t, "path", file, "err", err)
		h.fail(w, http.StatusInternalServerError, "error")
		return
	}
	defer func() { _ = obj.Close() }()

	ext := strings.ToLower(path.Ext(file))
	ctype, known := contentTypes[ext]
	if !known {
		ctype = "application/octet-stream"
	}
	hdr := w.Header()
	hdr.Set("Content-Type", ctype)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Players on other origins (an LMS embedding the video) may fetch; the
	// signature, not the origin, is the credential.
	hdr.Set("Access-Control-Allow-Origin", "*")
	switch ext {
	case ".m3u8":
		hdr.Set("Cache-Control", PlaylistCache)
		h.servePlaylist(w, r, obj)
		return
	case ".ts", ".m4s", ".mp4", ".aac":
		hdr.Set("Cache-Control", SegmentCache)
	default:
		hdr.Set("Cache-Control", OtherCache)
	}
	requests.WithLabelValues("ok").Inc()
	http.ServeContent(w, r, "", obj.ModTime(), obj)
}

// servePlaylist sends a playlist with the request's signature appended to
// every URI in it.
func (h *Handler) servePlaylist(w http.ResponseWriter, r *http.Request, obj storage.Object) {
	if obj.Size() > maxPlaylist {
		h.fail(w, http.StatusInternalServerError, "error")
		return
	}
	body, err := io.ReadAll(io.LimitReader(obj, maxPlaylist))
	if err != nil {
		h.log.Warn("playback read failed", "err", err)
		h.fail(w, http.StatusInternalServerError, "error")
		return
	}
	q := r.URL.Query()
	sig := make([]string, 0, 4)
	for _, k := range []string{ParamTenant, ParamPrefix, ParamExpires, ParamSig} {
		sig = append(sig, k+"="+url.QueryEscape(q.Get(k)))
	}
	out := signPlaylist(body, strings.Join(sig, "&"))
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	requests.WithLabelValues("ok").Inc()
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(out)
}

func (h *Handler) fail(w http.ResponseWriter, status int, result string) {
	requests.WithLabelValues(result).Inc()
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, fmt.Sprintf("%d %s", status, http.StatusText(status)), status)
}
