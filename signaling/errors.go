package signaling

import (
	"errors"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// Sentinel errors of the signaling package, wrapped with %w; test with
// errors.Is. None of them is shown to clients as is: the gateway maps them to
// a protocol.Error with a stable code (see toProtocolError).
var (
	// ErrInvalidConfig is returned by New and Config.Validate for settings
	// that cannot work.
	ErrInvalidConfig = errors.New("signaling: invalid config")
	// ErrClosed is returned once the gateway has been closed.
	ErrClosed = errors.New("signaling: closed")
	// ErrInvalidRoom is returned for a room name outside the allowed syntax.
	ErrInvalidRoom = errors.New("signaling: invalid room name")
	// ErrInvalidPrefix is returned by Register for a prefix that is empty,
	// does not end in ".", or names a built-in area.
	ErrInvalidPrefix = errors.New("signaling: invalid handler prefix")

	// ErrNoMedia is returned when no media node is configured or none can
	// take the participant.
	ErrNoMedia = errors.New("signaling: no media node available")
	// ErrInvalidSDP is returned by media sessions for a session description
	// that cannot be applied. Media adapters wrap their own error with it.
	ErrInvalidSDP = errors.New("signaling: invalid session description")
	// ErrTrackNotFound is returned by media sessions for an unknown track.
	ErrTrackNotFound = errors.New("signaling: track not found")
	// ErrMediaClosed is returned by a media session that has left.
	ErrMediaClosed = errors.New("signaling: media session closed")
	// ErrNotSupported is returned by a media session for an operation its
	// node cannot perform (e.g. a server-side ICE restart).
	ErrNotSupported = errors.New("signaling: not supported by the media node")

	// ErrStateUnavailable is returned by State implementations when their
	// backend cannot be reached; clients see CodeUnavailable.
	ErrStateUnavailable = errors.New("signaling: room state unavailable")
)

// perr builds the protocol error sent to a client.
func perr(code int, msg string) *protocol.Error {
	return &protocol.Error{Code: code, Message: msg, Retryable: retryable(code)}
}

// retryable reports whether a request failing with code may succeed if sent
// again unchanged.
func retryable(code int) bool {
	switch code {
	case protocol.CodeRateLimited, protocol.CodeUnavailable, protocol.CodeDraining, protocol.CodeInternal:
		return true
	}
	return false
}

// mediaError maps an error of a media session to a protocol error. Only the
// fixed messages are sent; err itself is logged by the caller.
func mediaError(err error) *protocol.Error {
	switch {
	case errors.Is(err, ErrInvalidSDP):
		return perr(protocol.CodeInvalidSDP, "the session description could not be applied")
	case errors.Is(err, ErrTrackNotFound):
		return perr(protocol.CodeTrackNotFound, "no such track")
	case errors.Is(err, ErrNoMedia):
		return perr(protocol.CodeMediaFailed, "no media node available")
	case errors.Is(err, ErrNotSupported):
		return perr(protocol.CodeMediaFailed, "not supported by the media node")
	default:
		return perr(protocol.CodeMediaFailed, "media negotiation failed")
	}
}

// stateError maps a State failure to a protocol error.
func stateError(error) *protocol.Error {
	return perr(protocol.CodeUnavailable, "room state temporarily unavailable")
}
