package whip

import "errors"

// Sentinel errors of the package, wrapped with %w; test with errors.Is.
var (
	// ErrClosed is returned once the handler is closed.
	ErrClosed = errors.New("whip: closed")
	// ErrUnknownSession is returned for a resource that does not exist (or
	// belongs to another room).
	ErrUnknownSession = errors.New("whip: unknown session")
	// ErrNotOwner is returned when a token other than the session's (and not
	// a moderator's of its tenant) tries to end it.
	ErrNotOwner = errors.New("whip: session belongs to someone else")
	// ErrTooManySessions is returned when Options.MaxSessions is reached.
	ErrTooManySessions = errors.New("whip: too many sessions")
)
