package auth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// quietLog drops the registry's info lines from test output.
var quietLog = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

var (
	tenantA = tenant.MustParse("alpha")
	tenantB = tenant.MustParse("beta")
)

// env is a store with tenants alpha and beta, an issuer and a verifier.
type env struct {
	st       *store.Store
	tenants  *auth.Tenants
	issuer   *auth.Issuer
	verifier *auth.JWTVerifier
	a, b     auth.Tenant
}

func newEnv(t testing.TB, opts ...auth.TenantsOption) *env {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	opts = append([]auth.TenantsOption{auth.WithLogger(quietLog)}, opts...)
	ts := auth.NewTenants(st, opts...)
	a, err := ts.CreateTenant(ctx, tenantA, "Alpha Con")
	require.NoError(t, err)
	b, err := ts.CreateTenant(ctx, tenantB, "Beta Fest")
	require.NoError(t, err)
	return &env{
		st:       st,
		tenants:  ts,
		issuer:   auth.NewIssuer(ts, auth.IssuerOptions{}),
		verifier: auth.NewVerifier(ts, auth.VerifierOptions{}),
		a:        a,
		b:        b,
	}
}

// mint signs a token for tenant id through the Issuer.
func (e *env) mint(t testing.TB, id tenant.ID, role auth.Role, rooms ...string) string {
	t.Helper()
	tok, err := e.issuer.Mint(context.Background(), auth.MintRequest{
		Tenant: id, Subject: "user-1", Name: "Ada", Role: role, Rooms: rooms,
	})
	require.NoError(t, err)
	return tok
}

// claims returns a complete, valid payload for tenant id.
func claims(id tenant.ID) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss":  auth.IssuerName,
		"sub":  "user-1",
		"tid":  string(id),
		"role": "attendee",
		"iat":  now.Unix(),
		"nbf":  now.Unix(),
		"exp":  now.Add(time.Hour).Unix(),
	}
}

// with returns a copy of m with the given changes; a nil value deletes.
func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

func hs256Header(kid string) map[string]any {
	return map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}
}

func b64(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// craft builds a token by hand: header and payload encoded as given and an
// HMAC over them with secret, using SHA-512 when the header says HS512.
// It is how tests produce tokens the Issuer would never sign.
func craft(t testing.TB, header, payload map[string]any, secret []byte) string {
	t.Helper()
	signing := b64(t, header) + "." + b64(t, payload)
	if secret == nil {
		return signing + "."
	}
	h := sha256.New
	if header["alg"] == "HS512" {
		h = sha512.New
	}
	mac := hmac.New(h, secret)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// fakeClock is a settable clock for the key cache.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
