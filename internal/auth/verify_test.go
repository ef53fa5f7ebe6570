package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

// tamperPayload decodes the payload of tok, changes the last byte of sub
// and re-encodes it, keeping header and signature.
func tamperPayload(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	i := strings.Index(string(raw), `"sub":"user-1"`)
	require.GreaterOrEqual(t, i, 0, "payload %s", raw)
	raw[i+len(`"sub":"user-`)] = '2'
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// tamperSignature flips one bit of the first signature byte.
func tamperSignature(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	sig[0] ^= 1
	parts[2] = base64.RawURLEncoding.EncodeToString(sig)
	return strings.Join(parts, ".")
}

// flipTrailingBit changes the unused low bit of the signature's last
// base64 character: lenient decoders yield the same bytes, so only strict
// decoding keeps tokens non-malleable.
func flipTrailingBit(t *testing.T, tok string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, tok[len(tok)-1])
	require.GreaterOrEqual(t, i, 0)
	return tok[:len(tok)-1] + string(alphabet[i^1])
}

func TestVerify(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keyA := e.a.Keys[0]
	keyB := e.b.Keys[0]
	now := time.Now()
	valid := e.mint(t, tenantA, auth.RoleSpeaker, "main", "side")

	tests := []struct {
		name  string
		token string
		want  error // nil: the token verifies
	}{
		{"valid minted", valid, nil},
		{"valid crafted", craft(t, hs256Header(keyA.ID), claims(tenantA), keyA.Secret), nil},
		{"expired within leeway", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "exp", now.Add(-5*time.Second).Unix()), keyA.Secret), nil},
		{"missing token", "", auth.ErrMissingToken},
		{"expired", craft(t, hs256Header(keyA.ID), with(claims(tenantA),
			"iat", now.Add(-2*time.Hour).Unix(), "nbf", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix()), keyA.Secret), auth.ErrExpired},
		{"not yet valid", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "nbf", now.Add(10*time.Minute).Unix()), keyA.Secret), auth.ErrNotYetValid},
		{"issued in the future", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "iat", now.Add(10*time.Minute).Unix()), keyA.Secret), auth.ErrNotYetValid},
		{"tampered payload", tamperPayload(t, valid), auth.ErrBadSignature},
		{"tampered signature", tamperSignature(t, valid), auth.ErrBadSignature},
		{"signed with another key", craft(t, hs256Header(keyA.ID), claims(tenantA), []byte("0123456789abcdef0123456789abcdef")), auth.ErrBadSignature},
		{"alg none unsigned", craft(t, map[string]any{"alg": "none", "typ": "JWT", "kid": keyA.ID}, claims(tenantA), nil), auth.ErrAlgNone},
		{"alg None with signature", craft(t, map[string]any{"alg": "None", "kid": keyA.ID}, claims(tenantA), keyA.Secret), auth.ErrAlgNone},
		{"alg HS512", craft(t, map[string]any{"alg": "HS512", "kid": keyA.ID}, claims(tenantA), keyA.Secret), auth.ErrBadAlgorithm},
		{"alg RS256 key confusion", craft(t, map[string]any{"alg": "RS256", "kid": keyA.ID}, claims(tenantA), keyA.Secret), auth.ErrBadAlgorithm},
		{"alg ES256", craft(t, map[string]any{"alg": "ES256", "kid": keyA.ID}, claims(tenantA), keyA.Secret), auth.ErrBadAlgorithm},
		{"alg unknown", craft(t, map[string]any{"alg": "XYZ", "kid": keyA.ID}, claims(tenantA), keyA.Secret), auth.ErrBadAlgorithm},
		{"alg missing", craft(t, map[string]any{"kid": keyA.ID}, claims(tenantA), keyA.Secret), auth.ErrBadAlgorithm},
		{"unknown kid", craft(t, hs256Header("ffffffffffffffff"), claims(tenantA), keyA.Secret), auth.ErrUnknownKey},
		{"no kid", craft(t, map[string]any{"alg": "HS256"}, claims(tenantA), keyA.Secret), auth.ErrMalformed},
		{"unknown tenant", craft(t, hs256Header(keyA.ID), claims("nobody"), keyA.Secret), auth.ErrUnknownTenant},
		{"invalid tenant id", craft(t, hs256Header(keyA.ID), claims("Not_A_Tenant"), keyA.Secret), auth.ErrInvalidClaims},
		{"no tenant", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "tid", nil), keyA.Secret), auth.ErrInvalidClaims},
		// tid=B signed with A's key: B has no key with A's kid, and B's own
		// kid does not make A's secret verify.
		{"forged tid with A's kid", craft(t, hs256Header(keyA.ID), claims(tenantB), keyA.Secret), auth.ErrUnknownKey},
		{"forged tid with B's kid", craft(t, hs256Header(keyB.ID), claims(tenantB), keyA.Secret), auth.ErrBadSignature},
		{"no exp", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "exp", nil), keyA.Secret), auth.ErrInvalidClaims},
		{"wrong issuer", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "iss", "someone-else"), keyA.Secret), auth.ErrInvalidClaims},
		{"no issuer", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "iss", nil), keyA.Secret), auth.ErrInvalidClaims},
		{"no subject", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "sub", nil), keyA.Secret), auth.ErrInvalidClaims},
		{"unknown role", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "role", "king"), keyA.Secret), auth.ErrInvalidClaims},
		{"empty room grant", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "rooms", []string{""}), keyA.Secret), auth.ErrInvalidClaims},
		{"malformed one segment", "abc", auth.ErrMalformed},
		{"malformed two segments", "abc.def", auth.ErrMalformed},
		{"malformed four segments", valid + ".x", auth.ErrMalformed},
		{"malformed base64", "!!!.###.$$$", auth.ErrMalformed},
		{"malformed header json", base64.RawURLEncoding.EncodeToString([]byte("{nope")) + ".e30.", auth.ErrMalformed},
		{"malformed exp type", craft(t, hs256Header(keyA.ID), with(claims(tenantA), "exp", "tomorrow"), keyA.Secret), auth.ErrMalformed},
		{"padded base64", valid + "=", auth.ErrMalformed},
		{"non-canonical base64", flipTrailingBit(t, valid), auth.ErrMalformed},
		{"oversized", strings.Repeat("a", auth.MaxTokenSize+1), auth.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := e.verifier.Verify(ctx, tt.token)
			if tt.want == nil {
				require.NoError(t, err)
				require.Equal(t, tenantA, c.Tenant)
				require.Equal(t, "user-1", c.Subject)
				return
			}
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, c)
			// Exactly one client code describes the error.
			require.Equal(t, tt.want, sentinelOf(err), "err = %v", err)
		})
	}
}

// sentinelOf returns the first verify sentinel err wraps.
func sentinelOf(err error) error {
	for _, s := range []error{
		auth.ErrMissingToken, auth.ErrMalformed, auth.ErrExpired, auth.ErrNotYetValid,
		auth.ErrBadSignature, auth.ErrAlgNone, auth.ErrBadAlgorithm, auth.ErrUnknownTenant,
		auth.ErrUnknownKey, auth.ErrWrongTenant, auth.ErrInvalidClaims, auth.ErrForbidden,
		auth.ErrUnavailable,
	} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

func TestVerifyClaims(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	before := time.Now().Truncate(time.Second)
	tok, err := e.issuer.Mint(ctx, auth.MintRequest{
		Tenant: tenantB, Subject: "u-42", Name: "Grace Hopper", Role: auth.RoleModerator,
		Rooms: []string{"main"}, TTL: 10 * time.Minute,
	})
	require.NoError(t, err)
	c, err := e.verifier.Verify(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, tenantB, c.Tenant)
	require.Equal(t, "u-42", c.Subject)
	require.Equal(t, "Grace Hopper", c.Name)
	require.Equal(t, auth.RoleModerator, c.Role)
	require.Equal(t, []string{"main"}, c.Rooms)
	require.Equal(t, e.b.Keys[0].ID, c.KeyID)
	require.False(t, c.IssuedAt.Before(before))
	require.WithinDuration(t, c.IssuedAt.Add(10*time.Minute), c.ExpiresAt, time.Second)
	require.True(t, c.CanAccessRoom("main"))
	require.False(t, c.CanAccessRoom("side"))

	// The header names the tenant's key and HS256.
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	require.NoError(t, err)
	var h map[string]any
	require.NoError(t, json.Unmarshal(hdr, &h))
	require.Equal(t, "HS256", h["alg"])
	require.Equal(t, e.b.Keys[0].ID, h["kid"])
}

func TestVerifyAudience(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	v := auth.NewVerifier(e.tenants, auth.VerifierOptions{Audience: "signaling"})
	good, err := e.issuer.Mint(ctx, auth.MintRequest{Tenant: tenantA, Subject: "u", Role: auth.RoleAttendee, Audience: []string{"signaling"}})
	require.NoError(t, err)
	_, err = v.Verify(ctx, good)
	require.NoError(t, err)
	_, err = v.Verify(ctx, e.mint(t, tenantA, auth.RoleAttendee))
	require.ErrorIs(t, err, auth.ErrInvalidClaims)
}

func TestVerifyClock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.mint(t, tenantA, auth.RoleAttendee) // valid for DefaultTTL
	later := auth.NewVerifier(e.tenants, auth.VerifierOptions{Now: func() time.Time { return time.Now().Add(auth.DefaultTTL + time.Minute) }})
	_, err := later.Verify(ctx, tok)
	require.ErrorIs(t, err, auth.ErrExpired)
	earlier := auth.NewVerifier(e.tenants, auth.VerifierOptions{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	_, err = earlier.Verify(ctx, tok)
	require.ErrorIs(t, err, auth.ErrNotYetValid)
}

func TestWrongTenant(t *testing.T) {
	e := newEnv(t)
	c, err := e.verifier.Verify(context.Background(), e.mint(t, tenantA, auth.RoleOrganizer))
	require.NoError(t, err)
	require.NoError(t, c.CheckTenant(tenantA))
	err = c.CheckTenant(tenantB)
	require.ErrorIs(t, err, auth.ErrWrongTenant)
	require.Equal(t, auth.CodeWrongTenant, auth.ToClientError(err).Code)
	require.Equal(t, 401, auth.HTTPStatus(err))
}

func TestMintRejects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name string
		req  auth.MintRequest
		want error
	}{
		{"no subject", auth.MintRequest{Tenant: tenantA, Role: auth.RoleAttendee}, auth.ErrInvalidRequest},
		{"no role", auth.MintRequest{Tenant: tenantA, Subject: "u"}, auth.ErrInvalidRequest},
		{"bad tenant", auth.MintRequest{Tenant: "Bad!", Subject: "u", Role: auth.RoleAttendee}, auth.ErrInvalidRequest},
		{"negative ttl", auth.MintRequest{Tenant: tenantA, Subject: "u", Role: auth.RoleAttendee, TTL: -time.Second}, auth.ErrInvalidRequest},
		{"empty room", auth.MintRequest{Tenant: tenantA, Subject: "u", Role: auth.RoleAttendee, Rooms: []string{""}}, auth.ErrInvalidRequest},
		{"unknown tenant", auth.MintRequest{Tenant: "nobody", Subject: "u", Role: auth.RoleAttendee}, auth.ErrUnknownTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.issuer.Mint(ctx, tt.req)
			require.ErrorIs(t, err, tt.want)
		})
	}
}
