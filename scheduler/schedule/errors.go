package schedule

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalid is wrapped by every error about a malformed schedule file:
	// bad syntax, a missing or unparseable field, a duplicate guid. The API
	// answers it with 400 and the error text, which names the first problem.
	ErrInvalid = errors.New("invalid schedule")

	// ErrTooLarge is wrapped when the input is longer than Limits.MaxBytes.
	// The API answers it with 413.
	ErrTooLarge = errors.New("schedule too large")

	// ErrLimit is wrapped when a file exceeds a count limit (events, days,
	// rooms, persons per event...). It also wraps ErrInvalid.
	ErrLimit = errors.New("schedule limit exceeded")

	// ErrUnknownFormat is returned when a format name or a file's content is
	// not one of the supported formats.
	ErrUnknownFormat = errors.New("unknown schedule format")

	// ErrUnsupported is returned when a known format cannot be used in the
	// requested direction (iCalendar is export-only).
	ErrUnsupported = errors.New("unsupported schedule operation")
)

// ParseError describes the first problem found in a schedule file. It wraps
// ErrInvalid (errors.Is) and, when there is one, the underlying decoder error.
type ParseError struct {
	// Format is the format the file was read as.
	Format Format
	// Line and Column locate the problem in the input, 1-based; zero when
	// unknown. XML errors always have a line; JSON errors have one when the
	// decoder reports an offset.
	Line, Column int
	// Offset is the byte offset of the problem for JSON input, -1 if unknown.
	Offset int64
	// Path names the element or JSON member, e.g.
	// "day[index=1]/room[Janson]/event[id=8376]/duration" or
	// `schedule.conference.days[0].rooms["One"][3].date`.
	Path string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying decoder error, if any.
	Err error
}

// Error formats the error as "<format>: line L, column C: <path>: <msg>".
func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format.String())
	b.WriteString(": ")
	switch {
	case e.Line > 0 && e.Column > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	case e.Offset >= 0:
		fmt.Fprintf(&b, "offset %d: ", e.Offset)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalid and the underlying error, so errors.Is matches
// both.
func (e *ParseError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrInvalid, e.Err}
	}
	return []error{ErrInvalid}
}
