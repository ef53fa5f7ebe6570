package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/plenaryhq/plenary/internal/auth"
)

// BenchmarkVerify measures one verification with the tenant's key cached,
// the steady state of the WebSocket gateway and REST handlers.
//
//	go test -run '^$' -bench . -benchmem ./internal/auth/
func BenchmarkVerify(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	tok := e.mint(b, tenantA, auth.RoleSpeaker, "main", "side")
	if _, err := e.verifier.Verify(ctx, tok); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.verifier.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyParallel is BenchmarkVerify from GOMAXPROCS goroutines, to
// show the cache's read lock does not serialise verifications.
func BenchmarkVerifyParallel(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	tok := e.mint(b, tenantA, auth.RoleSpeaker)
	if _, err := e.verifier.Verify(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.verifier.Verify(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyRejectBadSignature measures the cost of refusing a forged
// token whose tenant and kid are valid (the most expensive rejection).
func BenchmarkVerifyRejectBadSignature(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	k := e.a.Keys[0]
	tok := craft(b, hs256Header(k.ID), claims(tenantA), []byte("0123456789abcdef0123456789abcdef"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.verifier.Verify(ctx, tok); err == nil {
			b.Fatal("forged token verified")
		}
	}
}

// BenchmarkMint measures signing a token with a cached key.
func BenchmarkMint(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	req := auth.MintRequest{Tenant: tenantA, Subject: "user-1", Name: "Ada", Role: auth.RoleAttendee}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.issuer.Mint(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMiddleware measures the middleware around an empty handler.
func BenchmarkMiddleware(b *testing.B) {
	e := newEnv(b)
	tok := e.mint(b, tenantA, auth.RoleAttendee)
	h := auth.Middleware(e.verifier, auth.MiddlewareOptions{})(auth.RequireTenant(auth.TenantFromPathPrefix("/t/"))(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	req := httptest.NewRequest(http.MethodGet, "/t/alpha/whoami", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
