// Package tenant defines the identity every piece of Plenary data is scoped by.
//
// Every organizer is a tenant. Tenant IDs appear in store documents, bus channel
// names, queue jobs, JWT claims and URLs (/t/{tenant}/...), so their syntax is
// deliberately narrow: it must be safe inside a Redis channel name, a RabbitMQ
// routing key, a URL path segment and a file name without any escaping.
package tenant

import (
	"errors"
	"fmt"
)

// ID identifies a tenant (one organizer). The zero value is invalid: code that
// needs a tenant must obtain one from Parse or from a verified token.
type ID string

// ErrInvalid is returned by Parse for a malformed tenant ID.
var ErrInvalid = errors.New("invalid tenant id")

// MaxLen is the longest tenant ID accepted.
const MaxLen = 63

// Parse validates s as a tenant ID: 1–63 characters of lower-case ASCII
// letters, digits and '-', starting with a letter or digit.
func Parse(s string) (ID, error) {
	if err := validate(s); err != nil {
		return "", err
	}
	return ID(s), nil
}

// MustParse is Parse for IDs written in code (tests, the demo tenant). It
// panics on a malformed literal, which is a programming error, never input.
func MustParse(s string) ID {
	id, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return id
}

// String returns the ID as a string.
func (id ID) String() string { return string(id) }

// Valid reports whether id would pass Parse.
func (id ID) Valid() bool { return validate(string(id)) == nil }

func validate(s string) error {
	if s == "" {
		return fmt.Errorf("%w: empty", ErrInvalid)
	}
	if len(s) > MaxLen {
		return fmt.Errorf("%w: %d characters, at most %d", ErrInvalid, len(s), MaxLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0:
		default:
			return fmt.Errorf("%w: %q: use lower-case letters, digits and '-' (not first)", ErrInvalid, s)
		}
	}
	return nil
}
