package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
)

// FuzzVerify feeds arbitrary strings to Verify. It must never panic, every
// rejection must map to a known client code, and nothing but the tokens the
// issuer actually minted may verify.
//
//	go test -run '^$' -fuzz FuzzVerify -fuzztime 60s ./internal/auth/
func FuzzVerify(f *testing.F) {
	e := newEnv(f)
	ctx := context.Background()
	keyA := e.a.Keys[0]
	minted := map[string]bool{}
	for _, r := range []auth.Role{auth.RoleAttendee, auth.RoleOrganizer} {
		tok := e.mint(f, tenantA, r, "main")
		minted[tok] = true
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(parts[0] + ".." + parts[2])
	}
	now := time.Now()
	seeds := []string{
		"", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30",
		craft(f, map[string]any{"alg": "none", "kid": keyA.ID}, claims(tenantA), nil),
		craft(f, map[string]any{"alg": "HS512", "kid": keyA.ID}, claims(tenantA), keyA.Secret),
		craft(f, hs256Header(keyA.ID), claims(tenantB), keyA.Secret),
		craft(f, hs256Header(keyA.ID), with(claims(tenantA), "exp", now.Add(-time.Hour).Unix()), keyA.Secret),
		craft(f, hs256Header(keyA.ID), with(claims(tenantA), "rooms", map[string]any{"x": 1}), keyA.Secret),
		craft(f, map[string]any{"alg": "HS256", "kid": 7}, claims(tenantA), keyA.Secret),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	// The minted seeds stay valid for DefaultTTL (1h); fuzz sessions are
	// expected to be shorter.
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := e.verifier.Verify(ctx, tok)
		if err == nil {
			if !minted[tok] {
				t.Fatalf("garbage verified: %q -> %+v", tok, c)
			}
			if c == nil || c.Tenant != tenantA {
				t.Fatalf("bad claims %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatalf("claims returned with error %v", err)
		}
		if code := auth.ToClientError(err).Code; code == auth.CodeInternal {
			t.Fatalf("unclassified error for %q: %v", tok, err)
		}
	})
}
