package queue

import "errors"

// Sentinel errors of the queue. Backend errors are wrapped with %w, so
// callers test with errors.Is.
var (
	// ErrInvalidJob means Publish was given a job that cannot be stored: no
	// tenant, a malformed queue name or ID, a payload over MaxPayload.
	ErrInvalidJob = errors.New("invalid job")
	// ErrInvalidQueue means a queue name does not follow the naming rules.
	ErrInvalidQueue = errors.New("invalid queue name")
	// ErrClosed means the queue was closed.
	ErrClosed = errors.New("queue closed")
	// ErrUnavailable means the backend (store or broker) could not be reached.
	ErrUnavailable = errors.New("queue backend unavailable")
	// ErrNotConfirmed means the broker refused (nacked) a publish; the job is
	// not durable and the caller may retry.
	ErrNotConfirmed = errors.New("publish not confirmed")
)

// permanentError marks a handler error that retrying cannot fix.
type permanentError struct{ err error }

func (p permanentError) Error() string { return "permanent: " + p.err.Error() }
func (p permanentError) Unwrap() error { return p.err }

// Permanent wraps err so that the job is dead-lettered at once instead of
// retried, e.g. for a payload the handler cannot decode. Permanent(nil) is
// nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err: err}
}

// IsPermanent reports whether err (or an error it wraps) came from Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}
