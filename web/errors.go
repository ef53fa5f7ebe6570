package web

import "errors"

// Sentinel errors of the package's endpoints.
var (
	// ErrInvalidRequest: the request body or a path value is malformed.
	ErrInvalidRequest = errors.New("web: invalid request")
	// ErrUnavailable: a backend (token issuer, queue) failed.
	ErrUnavailable = errors.New("web: backend unavailable")
)
