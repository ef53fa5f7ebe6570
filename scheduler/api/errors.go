package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Code is the stable numeric code of a scheduler API error. Codes never
// change meaning once released; 1200–1299 are the scheduler's.
type Code int

// Scheduler API error codes.
const (
	// CodeBadRequest: a malformed request (bad JSON, bad query parameter).
	CodeBadRequest Code = 1200
	// CodeInvalidSchedule: the uploaded schedule file is invalid; the
	// message names the first problem (line, element or JSON member).
	CodeInvalidSchedule Code = 1201
	// CodeTooLarge: the upload exceeds the size limit.
	CodeTooLarge Code = 1202
	// CodeUnsupportedFormat: the format is unknown or cannot be used here.
	CodeUnsupportedFormat Code = 1203
	// CodeNotFound: no such convention, session, room, track or speaker
	// (or the convention is not published and the bearer is no organizer).
	CodeNotFound Code = 1204
	// CodeExists: the slug, guid or name is taken.
	CodeExists Code = 1205
	// CodeInvalid: the change would leave an invalid timetable.
	CodeInvalid Code = 1206
	// CodeInUse: the room or track still holds sessions.
	CodeInUse Code = 1207
	// CodeBusy: another writer is changing the convention; retry.
	CodeBusy Code = 1208
	// CodeUnavailable: the store is unavailable; retry.
	CodeUnavailable Code = 1298
	// CodeInternal: an unexpected error.
	CodeInternal Code = 1299
)

// Error is the body of every error response.
type Error struct {
	Code      Code   `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// errorBody wraps Error as {"error": ...}.
type errorBody struct {
	Error Error `json:"error"`
}

// API-level sentinels for problems the catalog does not know about.
var (
	errBadRequest = errors.New("bad request")
	errInUse      = errors.New("in use")
)

// badRequest returns an error answered with 400 and the given message.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// classify maps err to a status and a client error. Messages of client
// errors name the problem; store failures never leak their details.
func classify(err error) (int, Error) {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.As(err, &maxBytes), errors.Is(err, schedule.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, Error{Code: CodeTooLarge, Message: err.Error()}
	case errors.Is(err, schedule.ErrUnknownFormat), errors.Is(err, schedule.ErrUnsupported):
		return http.StatusUnsupportedMediaType, Error{Code: CodeUnsupportedFormat, Message: err.Error()}
	case errors.Is(err, schedule.ErrInvalid):
		return http.StatusBadRequest, Error{Code: CodeInvalidSchedule, Message: err.Error()}
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest, Error{Code: CodeBadRequest, Message: err.Error()}
	case errors.Is(err, errInUse):
		return http.StatusConflict, Error{Code: CodeInUse, Message: err.Error()}
	case errors.Is(err, catalog.ErrNotFound):
		return http.StatusNotFound, Error{Code: CodeNotFound, Message: notFoundMessage(err)}
	case errors.Is(err, catalog.ErrExists):
		return http.StatusConflict, Error{Code: CodeExists, Message: err.Error()}
	case errors.Is(err, catalog.ErrInvalid):
		return http.StatusBadRequest, Error{Code: CodeInvalid, Message: err.Error()}
	case errors.Is(err, catalog.ErrBusy):
		return http.StatusConflict, Error{Code: CodeBusy, Message: "the convention is being changed by another request; retry", Retryable: true}
	case errors.Is(err, catalog.ErrUnavailable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, Error{Code: CodeUnavailable, Message: "scheduler store unavailable; retry", Retryable: true}
	default:
		return http.StatusInternalServerError, Error{Code: CodeInternal, Message: "internal error", Retryable: true}
	}
}

// notFoundMessage keeps the "what" of a not-found error without store
// details: the catalog wraps as "<what>: not found[: driver error]".
func notFoundMessage(err error) string {
	var nf *notFound
	if errors.As(err, &nf) {
		return nf.Error()
	}
	return "not found"
}

// notFound is a not-found error with a client-safe description.
type notFound struct{ what string }

func (e *notFound) Error() string { return e.what + " not found" }
func (e *notFound) Unwrap() error { return catalog.ErrNotFound }

func errNotFound(format string, args ...any) error {
	return &notFound{what: fmt.Sprintf(format, args...)}
}

// writeError answers err as JSON, logging server-side failures.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status, body := classify(err)
	if status >= 500 {
		log.Warn("scheduler request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	writeJSON(w, status, errorBody{Error: body})
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
