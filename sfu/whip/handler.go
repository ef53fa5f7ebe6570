package whip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// Kind says which protocol a Handler speaks.
type Kind uint8

const (
	// KindUnknown is the zero value and is not served.
	KindUnknown Kind = iota
	// KindIngest is WHIP: the client publishes.
	KindIngest
	// KindPlayback is WHEP: the client watches.
	KindPlayback
)

// String returns "whip", "whep" or "unknown".
func (k Kind) String() string {
	switch k {
	case KindIngest:
		return "whip"
	case KindPlayback:
		return "whep"
	default:
		return "unknown"
	}
}

// ParseKind parses the output of Kind.String ("whip" or "whep").
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(s) {
	case "whip":
		return KindIngest, nil
	case "whep":
		return KindPlayback, nil
	default:
		return KindUnknown, fmt.Errorf("whip: unknown kind %q", s)
	}
}

// sdpType is the media type of WHIP and WHEP bodies (RFC 3264 offers and
// answers, RFC 9725 §4.2).
const sdpType = "application/sdp"

// maxOfferSize bounds a request body; real offers are a few kilobytes.
const maxOfferSize = 64 << 10

// Defaults used for zero Options fields.
const (
	DefaultAnswerTimeout  = 5 * time.Second
	DefaultConnectTimeout = 30 * time.Second
)

// Joiner is what the handlers need of the SFU; *sfu.SFU implements it.
type Joiner interface {
	Join(ctx context.Context, t tenant.ID, room sfu.RoomID, p sfu.ParticipantID, opts sfu.JoinOptions) (*sfu.Participant, error)
}

var _ Joiner = (*sfu.SFU)(nil)

// Options configure a Handler. The zero value (plus a Verifier) is usable.
type Options struct {
	// Verifier checks bearer tokens of requests that do not already carry
	// claims from auth.Middleware. Required unless the handler is always
	// mounted behind auth.Middleware.
	Verifier auth.Verifier
	// Log receives session starts and ends. Nil discards.
	Log *slog.Logger
	// Room extracts the room from a request. Default: the "room" path
	// wildcard of net/http patterns, as registered by Register.
	Room func(r *http.Request) string
	// Resource extracts the session resource ID from a DELETE or PATCH
	// request. Default: the "resource" path wildcard.
	Resource func(r *http.Request) string
	// ParticipantID names the SFU participant of a new session. Default:
	// "<token subject>~whip-<8 hex>" (or ~whep-), so one speaker can publish
	// from OBS and a browser at once.
	ParticipantID func(c *auth.Claims, kind Kind, resource string) sfu.ParticipantID
	// AnswerTimeout bounds SDP negotiation and ICE gathering of a POST.
	// Default 5s.
	AnswerTimeout time.Duration
	// ConnectTimeout ends a session whose media connection is not up this
	// long after the answer. Default 30s.
	ConnectTimeout time.Duration
	// MaxSessions caps concurrent sessions of the handler. Default 0: no cap.
	MaxSessions int
}

// Handler serves one of WHIP or WHEP for every room of every tenant. Create
// it with NewIngest or NewPlayback, mount it with Register (or ServeHTTP
// under patterns with {room} and {resource} wildcards) and Close it on
// shutdown.
type Handler struct {
	kind Kind
	sfu  Joiner
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	closed   bool
	wg       sync.WaitGroup
}

// NewIngest returns the WHIP ingest handler: each POST publishes the
// offer's tracks into the room.
func NewIngest(s Joiner, opts Options) *Handler { return newHandler(KindIngest, s, opts) }

// NewPlayback returns the WHEP playback handler: each POST receives the
// room's tracks.
func NewPlayback(s Joiner, opts Options) *Handler { return newHandler(KindPlayback, s, opts) }

func newHandler(kind Kind, s Joiner, opts Options) *Handler {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Room == nil {
		opts.Room = func(r *http.Request) string { return r.PathValue("room") }
	}
	if opts.Resource == nil {
		opts.Resource = func(r *http.Request) string { return r.PathValue("resource") }
	}
	if opts.ParticipantID == nil {
		opts.ParticipantID = defaultParticipantID
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = DefaultAnswerTimeout
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	return &Handler{
		kind:     kind,
		sfu:      s,
		opts:     opts,
		log:      opts.Log.With("component", kind.String()),
		sessions: make(map[string]*session),
	}
}

// defaultParticipantID is "<subject>~whip-<resource prefix>", cut to the
// SFU's ID limit.
func defaultParticipantID(c *auth.Claims, kind Kind, resource string) sfu.ParticipantID {
	suffix := "~" + kind.String() + "-" + resource[:min(8, len(resource))]
	sub := c.Subject
	if limit := 128 - len(suffix); len(sub) > limit {
		sub = sub[:limit]
	}
	return sfu.ParticipantID(sub + suffix)
}

// Register mounts the handler on mux under prefix (e.g. "/v1/whip"):
// POST and OPTIONS on {prefix}/{room}, DELETE, PATCH and OPTIONS on
// {prefix}/{room}/{resource}.
func (h *Handler) Register(mux *http.ServeMux, prefix string) {
	prefix = strings.TrimSuffix(prefix, "/")
	mux.Handle(prefix+"/{room}", h)
	mux.Handle(prefix+"/{room}/{resource}", h)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	room := h.opts.Room(r)
	if room == "" {
		http.NotFound(w, r)
		return
	}
	resource := h.opts.Resource(r)
	switch {
	case r.Method == http.MethodOptions:
		h.options(w, resource)
	case resource == "" && r.Method == http.MethodPost:
		h.create(w, r, room)
	case resource != "" && r.Method == http.MethodDelete:
		h.delete(w, r, room, resource)
	case resource != "" && r.Method == http.MethodPatch:
		// RFC 9725 §4.3.1: a session that supports neither trickle ICE nor
		// ICE restarts answers PATCH with 405.
		w.Header().Set("Allow", "DELETE, OPTIONS")
		http.Error(w, "trickle ICE and ICE restarts are not supported", http.StatusMethodNotAllowed)
	case resource == "":
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	default:
		w.Header().Set("Allow", "DELETE, PATCH, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// options answers a preflight or capability request (RFC 9725 §4.2 allows
// OPTIONS; Accept-Post tells what POST takes).
func (h *Handler) options(w http.ResponseWriter, resource string) {
	if resource == "" {
		w.Header().Set("Allow", "POST, OPTIONS")
		w.Header().Set("Accept-Post", sdpType)
	} else {
		w.Header().Set("Allow", "DELETE, PATCH, OPTIONS")
	}
	w.WriteHeader(http.StatusNoContent)
}

// claims returns the request's verified claims: from auth.Middleware if it
// ran, else by verifying the bearer token with Options.Verifier.
func (h *Handler) claims(r *http.Request) (*auth.Claims, error) {
	if c, ok := auth.ClaimsFrom(r.Context()); ok {
		return c, nil
	}
	if h.opts.Verifier == nil {
		return nil, auth.ErrUnavailable
	}
	return h.opts.Verifier.Verify(r.Context(), auth.TokenFromRequest(r))
}

// create starts a session from the SDP offer in the body.
func (h *Handler) create(w http.ResponseWriter, r *http.Request, room string) {
	c, err := h.claims(r)
	if err != nil {
		auth.WriteError(w, err)
		return
	}
	minRole := auth.RoleAttendee
	if h.kind == KindIngest {
		minRole = auth.RoleSpeaker
	}
	if err := c.CheckRole(minRole); err != nil {
		auth.WriteError(w, err)
		return
	}
	if err := c.CheckRoom(room); err != nil {
		auth.WriteError(w, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != sdpType {
		http.Error(w, "body must be "+sdpType, http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxOfferSize))
	if err != nil {
		http.Error(w, "offer too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	offer := webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: string(body)}
	resource, err := newResourceID()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.AnswerTimeout)
	defer cancel()
	s, answer, err := h.start(ctx, c, room, resource, offer)
	if err != nil {
		h.writeStartError(w, err)
		return
	}
	loc := requestPath(r) + "/" + resource
	w.Header().Set("Content-Type", sdpType)
	w.Header().Set("Location", loc)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer.SDP)
	s.log.Info("session started", "location", loc)
}

// writeStartError maps a failed session start to an HTTP status.
func (h *Handler) writeStartError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, sfu.ErrInvalidSDP):
		status = http.StatusBadRequest
	case errors.Is(err, sfu.ErrInvalidID):
		status = http.StatusNotFound
	case errors.Is(err, ErrTooManySessions), errors.Is(err, ErrClosed), errors.Is(err, sfu.ErrClosed),
		errors.Is(err, sfu.ErrDraining):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, sfu.ErrParticipantExists):
		status = http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	}
	if status == http.StatusInternalServerError {
		h.log.Warn("session start failed", "err", err)
	}
	http.Error(w, fmt.Sprintf("%s session not started: %v", h.kind, err), status)
}

// delete ends a session (RFC 9725 §4.3: DELETE on the resource URL).
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, room, resource string) {
	c, err := h.claims(r)
	if err != nil {
		auth.WriteError(w, err)
		return
	}
	h.mu.Lock()
	s, ok := h.sessions[resource]
	h.mu.Unlock()
	if !ok || string(s.room) != room || s.tenant != c.Tenant {
		http.Error(w, ErrUnknownSession.Error(), http.StatusNotFound)
		return
	}
	if s.subject != c.Subject && !c.Role.AtLeast(auth.RoleModerator) {
		http.Error(w, ErrNotOwner.Error(), http.StatusForbidden)
		return
	}
	s.end("deleted")
	w.WriteHeader(http.StatusOK)
}

// Sessions returns the number of live sessions.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Close ends every session and refuses new ones. It is idempotent.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closed = true
	all := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.end("shutdown")
	}
	h.wg.Wait()
	return nil
}

// newResourceID returns 128 random bits in hex: resource URLs must not be
// guessable, since they are the handle to end a session.
func newResourceID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("whip: resource id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// requestPath is the path the client asked for, before any StripPrefix by
// the router, so the Location header resolves against the client's URL.
func requestPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return strings.TrimSuffix(u.EscapedPath(), "/")
	}
	return strings.TrimSuffix(r.URL.EscapedPath(), "/")
}
