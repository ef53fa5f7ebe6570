package library

import "errors"

// Sentinel errors of the library. Store errors are wrapped with %w.
var (
	// ErrNotFound means no such recording, course, enrolment or certificate
	// exists for the tenant (or at all, for a certificate code).
	ErrNotFound = errors.New("library: not found")
	// ErrInvalid means input failed validation; the message says which.
	ErrInvalid = errors.New("library: invalid input")
	// ErrConflict means an ID is already taken.
	ErrConflict = errors.New("library: already exists")
	// ErrNotEnrolled means the learner is not enrolled in the course.
	ErrNotEnrolled = errors.New("library: not enrolled")
)
