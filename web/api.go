package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// Mux is what RegisterAPI needs of a router; *http.ServeMux and
// *httpserver.Server both have it.
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// APIDeps are the services the app's own endpoints use. Authn is
// required; an endpoint whose backend is nil is not registered.
type APIDeps struct {
	// Authn authenticates requests (auth.Middleware).
	Authn func(http.Handler) http.Handler
	// Minter issues invitation tokens (*auth.Issuer). Nil: no /v1/invites.
	Minter Minter
	// Queue receives recording commands (queue.Queue). Nil: no recording
	// endpoint.
	Queue Publisher
	// BaseURL is the public origin put in invitation links, e.g.
	// "https://events.example.org". Empty: the request's own origin.
	BaseURL string
	// Log receives failures. Nil means slog.Default().
	Log *slog.Logger
}

// RegisterAPI adds the app's endpoints to m:
//
//	POST /v1/invites                 organizer: mint an invitation link
//	POST /v1/rooms/{room}/recording  moderator: start or stop recording
func RegisterAPI(m Mux, d APIDeps) error {
	if d.Authn == nil {
		return fmt.Errorf("%w: APIDeps.Authn is required", ErrInvalidRequest)
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	log := d.Log.With("component", "web")
	if d.Minter != nil {
		inv := &invites{minter: d.Minter, base: strings.TrimSuffix(d.BaseURL, "/"), log: log}
		m.Handle("POST /v1/invites", d.Authn(auth.RequireRole(auth.RoleOrganizer)(inv)))
	}
	if d.Queue != nil {
		rec := &recording{queue: d.Queue, log: log}
		m.Handle("POST /v1/rooms/{room}/recording", d.Authn(auth.RequireRole(auth.RoleModerator)(rec)))
	}
	return nil
}

// maxBody bounds request bodies of the app's endpoints.
const maxBody = 16 << 10

// readJSON decodes a small JSON body, rejecting unknown fields.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeErr writes the platform's error body {"error":{code,message,retryable}}.
func writeErr(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, protocol.CodeInternal
	switch {
	case errors.Is(err, ErrInvalidRequest):
		status, code = http.StatusBadRequest, protocol.CodeInvalidPayload
	case errors.Is(err, auth.ErrForbidden):
		status, code = http.StatusForbidden, protocol.CodeForbidden
	case errors.Is(err, ErrUnavailable):
		status, code = http.StatusServiceUnavailable, protocol.CodeUnavailable
	}
	msg := err.Error()
	if status >= 500 {
		msg = "temporarily unavailable, retry"
	}
	writeJSON(w, status, map[string]protocol.Error{"error": {Code: code, Message: msg, Retryable: status >= 500}})
}
