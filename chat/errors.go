package chat

import (
	"errors"
	"fmt"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// Sentinel errors of the chat package; wrapped with %w, test with errors.Is.
var (
	// ErrNoSequence is returned by History.Append and History.Read when the
	// room's counter does not exist (a new room, keys that expired, or a
	// Redis that restarted empty). The service seeds it from the archive
	// with History.Seed and retries.
	ErrNoSequence = errors.New("chat: room sequence not initialised")
	// ErrUnavailable means a backend (Redis, the store) could not be
	// reached; the operation did not take effect or its effect is unknown.
	// Clients see protocol.CodeUnavailable with retryable set.
	ErrUnavailable = errors.New("chat: backend unavailable")
	// ErrClosed is returned once the service or a history has been closed.
	ErrClosed = errors.New("chat: closed")
	// ErrInvalidConfig is returned by constructors for a configuration that
	// cannot work.
	ErrInvalidConfig = errors.New("chat: invalid config")
	// ErrInvalidRoom is returned for a room name that cannot be used in keys.
	ErrInvalidRoom = errors.New("chat: invalid room name")
)

// perr builds a protocol error.
func clientErr(code int, format string, args ...any) *protocol.Error {
	return &protocol.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// unavailable is the client's view of a backend failure: retryable, and
// without internal details.
func unavailable(what string) *protocol.Error {
	return &protocol.Error{Code: protocol.CodeUnavailable, Message: what + " temporarily unavailable; retry", Retryable: true}
}

// internalErr is the client's view of an unexpected failure.
func internalErr() *protocol.Error {
	return &protocol.Error{Code: protocol.CodeInternal, Message: "internal error"}
}

// Common client errors.
var (
	errForbidden = func(what string) *protocol.Error {
		return clientErr(protocol.CodeForbidden, "%s requires a higher role", what)
	}
	errNotInRoom = func(room string) *protocol.Error {
		return clientErr(protocol.CodeNotInRoom, "join room %q first", room)
	}
)
