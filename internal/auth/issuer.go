package auth

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// DefaultTTL is the lifetime of a token minted without an explicit TTL.
const DefaultTTL = time.Hour

// MintRequest describes the token to sign.
type MintRequest struct {
	// Tenant the token is for; its newest key signs the token.
	Tenant tenant.ID
	// Subject identifies the participant within the tenant (required).
	Subject string
	// Name is the display name shown to others (optional).
	Name string
	// Role is the participant's role (required, not RoleUnknown).
	Role Role
	// Rooms are the room grants; empty grants every room of the tenant
	// (see Claims).
	Rooms []string
	// TTL is the token lifetime; zero means DefaultTTL.
	TTL time.Duration
	// NotBefore delays the token's validity; zero means valid at once.
	NotBefore time.Time
	// Audience, when set, becomes the aud claim.
	Audience []string
}

// IssuerOptions configures NewIssuer. The zero value is ready to use.
type IssuerOptions struct {
	// Now replaces time.Now, for tests. Nil means time.Now.
	Now func() time.Time
}

// Issuer mints tokens signed with each tenant's current key (HS256, kid
// header naming the key).
type Issuer struct {
	keys KeySource
	now  func() time.Time
}

// NewIssuer returns an Issuer that takes signing keys from keys (normally
// the *Tenants registry).
func NewIssuer(keys KeySource, opts IssuerOptions) *Issuer {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Issuer{keys: keys, now: now}
}

// Mint signs a token for req. It fails with ErrInvalidRequest for a request
// missing a subject or role, ErrUnknownTenant for an unregistered tenant and
// ErrUnavailable when keys cannot be read.
func (i *Issuer) Mint(ctx context.Context, req MintRequest) (string, error) {
	if _, err := tenant.Parse(string(req.Tenant)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	switch {
	case req.Subject == "":
		return "", fmt.Errorf("%w: no subject", ErrInvalidRequest)
	case !req.Role.Valid():
		return "", fmt.Errorf("%w: role %s", ErrInvalidRequest, req.Role)
	case req.TTL < 0:
		return "", fmt.Errorf("%w: negative TTL %s", ErrInvalidRequest, req.TTL)
	case len(req.Rooms) > MaxRooms:
		return "", fmt.Errorf("%w: %d rooms, at most %d", ErrInvalidRequest, len(req.Rooms), MaxRooms)
	case slices.Contains(req.Rooms, ""):
		return "", fmt.Errorf("%w: empty room name", ErrInvalidRequest)
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	key, err := i.keys.SigningKey(ctx, req.Tenant)
	if err != nil {
		return "", err
	}
	now := i.now()
	nbf := now
	if req.NotBefore.After(now) {
		nbf = req.NotBefore
	}
	tc := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    IssuerName,
			Subject:   req.Subject,
			Audience:  req.Audience,
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(nbf),
			ExpiresAt: jwt.NewNumericDate(nbf.Add(ttl)),
		},
		Tenant: string(req.Tenant),
		Name:   req.Name,
		Role:   req.Role.String(),
		Rooms:  req.Rooms,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, tc)
	tok.Header["kid"] = key.ID
	s, err := tok.SignedString(key.Secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
