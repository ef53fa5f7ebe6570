package auth

import (
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// IssuerName is the iss claim of every token Plenary mints and the only one
// it accepts.
const IssuerName = "plenary"

// MaxRooms bounds the room grants one token may carry, keeping tokens small
// enough for a URL query parameter.
const MaxRooms = 64

// Claims is a verified token: who the bearer is, which tenant they belong to,
// what they may do and where.
//
// Room grants: an empty Rooms list grants every room of the tenant, whatever
// the role (this is what organizer tokens and the demo links use); a
// non-empty list grants exactly those rooms, again for every role. The role
// then decides what the bearer may do inside a granted room.
type Claims struct {
	// Tenant is the tenant the token was signed for (claim tid).
	Tenant tenant.ID
	// Subject identifies the participant within the tenant (claim sub).
	Subject string
	// Name is the display name (claim name); may be empty.
	Name string
	// Role is the bearer's role (claim role); always a valid role.
	Role Role
	// Rooms are the room grants (claim rooms); empty means every room.
	Rooms []string
	// KeyID is the kid of the key that signed the token.
	KeyID string
	// IssuedAt, NotBefore and ExpiresAt are the iat, nbf and exp claims;
	// IssuedAt and NotBefore are zero when absent.
	IssuedAt, NotBefore, ExpiresAt time.Time
	// Audience is the aud claim, if any.
	Audience []string
}

// CanAccessRoom reports whether the token grants room (see Claims for the
// rule). An empty room name is never granted.
func (c *Claims) CanAccessRoom(room string) bool {
	if c == nil || room == "" {
		return false
	}
	return len(c.Rooms) == 0 || slices.Contains(c.Rooms, room)
}

// CheckTenant returns nil when the token belongs to t and an error wrapping
// ErrWrongTenant otherwise. Every handler serving a tenant-named resource
// calls it (the middleware's RequireTenant does).
func (c *Claims) CheckTenant(t tenant.ID) error {
	if c == nil || c.Tenant != t {
		return fmt.Errorf("%w: resource of tenant %q", ErrWrongTenant, t)
	}
	return nil
}

// CheckRole returns nil when the bearer's role is at least min and an error
// wrapping ErrForbidden otherwise.
func (c *Claims) CheckRole(minRole Role) error {
	if c == nil || !c.Role.AtLeast(minRole) {
		return fmt.Errorf("%w: role %s required", ErrForbidden, minRole)
	}
	return nil
}

// CheckRoom returns nil when the token grants room and an error wrapping
// ErrForbidden otherwise.
func (c *Claims) CheckRoom(room string) error {
	if !c.CanAccessRoom(room) {
		return fmt.Errorf("%w: room %q not granted", ErrForbidden, room)
	}
	return nil
}

// tokenClaims is the JSON payload of a Plenary token: the registered claims
// plus tid, name, role and rooms.
type tokenClaims struct {
	jwt.RegisteredClaims
	Tenant string   `json:"tid"`
	Name   string   `json:"name,omitempty"`
	Role   string   `json:"role"`
	Rooms  []string `json:"rooms,omitempty"`
}

// toClaims checks the custom claims of a signature-verified token and
// converts them.
func (tc *tokenClaims) toClaims(kid string) (*Claims, error) {
	t, err := tenant.Parse(tc.Tenant)
	if err != nil {
		return nil, fmt.Errorf("%w: tid: %w", ErrInvalidClaims, err)
	}
	if tc.Subject == "" {
		return nil, fmt.Errorf("%w: no sub", ErrInvalidClaims)
	}
	role, err := ParseRole(tc.Role)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidClaims, err)
	}
	if len(tc.Rooms) > MaxRooms || slices.Contains(tc.Rooms, "") {
		return nil, fmt.Errorf("%w: rooms", ErrInvalidClaims)
	}
	c := &Claims{
		Tenant:   t,
		Subject:  tc.Subject,
		Name:     tc.Name,
		Role:     role,
		Rooms:    tc.Rooms,
		KeyID:    kid,
		Audience: tc.Audience,
	}
	if tc.IssuedAt != nil {
		c.IssuedAt = tc.IssuedAt.Time
	}
	if tc.NotBefore != nil {
		c.NotBefore = tc.NotBefore.Time
	}
	if tc.ExpiresAt != nil {
		c.ExpiresAt = tc.ExpiresAt.Time
	}
	return c, nil
}
