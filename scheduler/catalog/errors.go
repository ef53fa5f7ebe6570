package catalog

import "errors"

// Sentinel errors of the catalog. Store errors are wrapped with %w, so callers
// can test for both these and the store's sentinels.
var (
	// ErrNotFound means the convention, session, room, track or speaker does
	// not exist in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrExists means a create named a slug, guid or name already taken.
	ErrExists = errors.New("already exists")
	// ErrInvalid means a write was refused because the result would not be
	// a valid timetable (a session in an unknown room, a missing title...).
	// The error text names the first problem.
	ErrInvalid = errors.New("invalid timetable")
	// ErrBusy means another writer is committing a change to the same
	// convention; retrying shortly succeeds.
	ErrBusy = errors.New("convention is being changed by another writer")
	// ErrUnavailable means the store could not be reached or failed mid-way;
	// nothing was changed (a commit rolled back) and a retry may succeed.
	ErrUnavailable = errors.New("catalog store unavailable")
)

// isNotFound reports whether err means "no such convention or entity".
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
