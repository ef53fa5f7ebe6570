package bus

import "errors"

// Sentinel errors returned (wrapped with %w) by every Bus implementation.
// Test for them with errors.Is.
var (
	// ErrClosed is returned by Publish and Subscribe once the bus has been
	// closed. It is a programming or shutdown-ordering error, never retryable.
	ErrClosed = errors.New("bus: closed")

	// ErrUnavailable is returned when the backend cannot be reached (Redis is
	// down, the connection broke mid-command). The operation did not take
	// effect, or its effect is unknown; callers may retry with backoff.
	ErrUnavailable = errors.New("bus: backend unavailable")

	// ErrInvalidChannel is returned for a channel name that TenantChannel or
	// SystemChannel would not have produced.
	ErrInvalidChannel = errors.New("bus: invalid channel")

	// ErrInvalidConfig is returned by constructors for a configuration that
	// cannot work (unparseable URL, bad prefix).
	ErrInvalidConfig = errors.New("bus: invalid config")
)
