package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// maxJSONBody bounds JSON request bodies other than schedule imports.
const maxJSONBody = 1 << 20

// Config tunes the API. The zero value is ready to use.
type Config struct {
	// PublicURL is the externally visible base URL ("https://con.example")
	// used in private feed links. Empty derives it from each request
	// (Host header, X-Forwarded-Proto).
	PublicURL string
	// Limits bound schedule imports; MaxBytes (default 32 MiB) is answered
	// with 413.
	Limits schedule.Limits
	// Now is the instant "now & next" uses when the request names none
	// (default time.Now); a compressed clock in tests.
	Now func() time.Time
}

// Deps are the API's collaborators.
type Deps struct {
	// Catalog keeps the data. Required.
	Catalog *catalog.Catalog
	// Auth authenticates bearer tokens (auth.Middleware). Required.
	Auth func(http.Handler) http.Handler
	// OnChange is called after every write that changed a convention, so
	// timed actions are re-planned; may be nil.
	OnChange func(ctx context.Context, t tenant.ID, slug string)
	// Log is the logger (default slog.Default()).
	Log *slog.Logger
}

// Route is one registered route.
type Route struct {
	// Method and Path are the route as docs/openapi.yaml names it.
	Method, Path string
	// Handler serves it, authentication included.
	Handler http.Handler
	// Public routes carry their own credential (the feed token).
	Public bool
}

// Pattern is the net/http ServeMux pattern ("GET /v1/conventions").
func (r Route) Pattern() string { return r.Method + " " + r.Path }

// Handler serves the scheduler API.
type Handler struct {
	cfg    Config
	cat    *catalog.Catalog
	authMW func(http.Handler) http.Handler
	change func(ctx context.Context, t tenant.ID, slug string)
	log    *slog.Logger
	routes []Route
}

// New builds the API.
func New(cfg Config, deps Deps) (*Handler, error) {
	if deps.Catalog == nil || deps.Auth == nil {
		return nil, errors.New("scheduler api: Catalog and Auth are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limits.MaxBytes <= 0 {
		cfg.Limits.MaxBytes = schedule.DefaultMaxBytes
	}
	h := &Handler{
		cfg: cfg, cat: deps.Catalog, authMW: deps.Auth, change: deps.OnChange,
		log: deps.Log.With("component", "scheduler.api"),
	}
	h.routes = h.buildRoutes()
	return h, nil
}

// Routes lists every route with its handler.
func (h *Handler) Routes() []Route { return h.routes }

// Register adds every route to mux (http.ServeMux, httpserver.Server...).
func (h *Handler) Register(mux interface{ Handle(string, http.Handler) }) {
	for _, r := range h.routes {
		mux.Handle(r.Pattern(), r.Handler)
	}
}

// handlerFunc is a route handler given the verified claims.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *auth.Claims) error

func (h *Handler) buildRoutes() []Route {
	const conv = "/v1/conventions/{slug}"
	type def struct {
		method, path string
		f            handlerFunc
	}
	defs := []def{
		{"GET", "/v1/conventions", h.listConventions},
		{"POST", "/v1/conventions", h.createConvention},
		{"GET", conv, h.getConvention},
		{"PUT", conv, h.updateConvention},
		{"DELETE", conv, h.deleteConvention},
		{"POST", conv + "/publish", h.publish(true)},
		{"POST", conv + "/unpublish", h.publish(false)},
		{"POST", conv + "/schedule", h.importSchedule},
		{"GET", conv + "/schedule.xml", h.exportSchedule(schedule.FormatFrabXML)},
		{"GET", conv + "/schedule.json", h.exportSchedule(schedule.FormatC3VOCJSON)},
		{"GET", conv + "/schedule.ics", h.exportSchedule(schedule.FormatICal)},
		{"GET", conv + "/conflicts", h.conflicts},
		{"GET", conv + "/rooms", h.listRooms},
		{"POST", conv + "/rooms", h.createRoom},
		{"GET", conv + "/rooms/{room}", h.getRoom},
		{"PUT", conv + "/rooms/{room}", h.updateRoom},
		{"DELETE", conv + "/rooms/{room}", h.deleteRoom},
		{"GET", conv + "/tracks", h.listTracks},
		{"POST", conv + "/tracks", h.createTrack},
		{"GET", conv + "/tracks/{track}", h.getTrack},
		{"PUT", conv + "/tracks/{track}", h.updateTrack},
		{"DELETE", conv + "/tracks/{track}", h.deleteTrack},
		{"GET", conv + "/speakers", h.listSpeakers},
		{"POST", conv + "/speakers", h.createSpeaker},
		{"GET", conv + "/speakers/{speaker}", h.getSpeaker},
		{"PUT", conv + "/speakers/{speaker}", h.updateSpeaker},
		{"DELETE", conv + "/speakers/{speaker}", h.deleteSpeaker},
		{"GET", conv + "/sessions", h.listSessions},
		{"POST", conv + "/sessions", h.createSession},
		{"GET", conv + "/sessions/{guid}", h.getSession},
		{"PUT", conv + "/sessions/{guid}", h.updateSession},
		{"DELETE", conv + "/sessions/{guid}", h.deleteSession},
		{"GET", conv + "/now", h.nowNext},
		{"GET", conv + "/agenda", h.getAgenda},
		{"PUT", conv + "/agenda/{guid}", h.star},
		{"DELETE", conv + "/agenda/{guid}", h.unstar},
		{"GET", conv + "/agenda/feed", h.feedURL(false)},
		{"POST", conv + "/agenda/feed", h.feedURL(true)},
	}
	routes := make([]Route, 0, len(defs)+1)
	for _, d := range defs {
		routes = append(routes, Route{Method: d.method, Path: d.path, Handler: h.authMW(h.wrap(d.f))})
	}
	routes = append(routes, Route{Method: "GET", Path: "/v1/feeds/{token}", Handler: http.HandlerFunc(h.feed), Public: true})
	return routes
}

// wrap adapts a handlerFunc: claims in, errors out as JSON.
func (h *Handler) wrap(f handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.ClaimsFrom(r.Context())
		if !ok {
			auth.WriteError(w, auth.ErrMissingToken)
			return
		}
		if err := f(w, r, c); err != nil {
			var ce auth.ClientError
			if errors.Is(err, auth.ErrForbidden) || errors.As(err, &ce) {
				auth.WriteError(w, err)
				return
			}
			writeError(w, r, h.log, err)
		}
	})
}

// organizer checks that the bearer may write.
func organizer(c *auth.Claims) error { return c.CheckRole(auth.RoleOrganizer) }

// slugOf returns the {slug} path value; an impossible slug is "not found".
func slugOf(r *http.Request) (string, error) {
	slug := r.PathValue("slug")
	if catalog.ValidSlug(slug) != nil {
		return "", errNotFound("convention %q", slug)
	}
	return slug, nil
}

// timetable returns the convention the bearer may read: any convention of
// the tenant for organizers, published ones for everyone else.
func (h *Handler) timetable(r *http.Request, c *auth.Claims) (*catalog.Timetable, error) {
	slug, err := slugOf(r)
	if err != nil {
		return nil, err
	}
	tt, err := h.cat.Timetable(r.Context(), c.Tenant, slug)
	if errors.Is(err, catalog.ErrNotFound) || err == nil && !tt.Info.Published && organizer(c) != nil {
		return nil, errNotFound("convention %q", slug)
	}
	return tt, err
}

// changed tells the planner that slug changed.
func (h *Handler) changed(ctx context.Context, t tenant.ID, slug string) {
	if h.change != nil {
		h.change(ctx, t, slug)
	}
}

// decodeJSON strictly decodes a JSON request body into v.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("request body: %v", err)
	}
	if dec.More() {
		return badRequest("request body: trailing data after the JSON value")
	}
	return nil
}

// location is the convention's zone (UTC if it cannot be loaded).
func location(tt *catalog.Timetable) *time.Location {
	loc, err := tt.Info.Convention.Location()
	if err != nil {
		return time.UTC
	}
	return loc
}

// baseURL is the public base URL for links in responses.
func (h *Handler) baseURL(r *http.Request) string {
	if h.cfg.PublicURL != "" {
		return strings.TrimRight(h.cfg.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	return fmt.Sprintf("%s://%s", scheme, r.Host)
}
