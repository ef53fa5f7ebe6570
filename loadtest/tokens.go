package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// TokenRequest describes the token of one bot.
type TokenRequest struct {
	// Subject is the bot's identity, unique within the run.
	Subject string
	// Name is its display name.
	Name string
	// Role is the scenario group's role.
	Role auth.Role
	// Rooms are the rooms the bot joins (the grant).
	Rooms []string
	// TTL is how long the token must stay valid (the run, plus margin for
	// resumes at its end).
	TTL time.Duration
}

// TokenSource mints bot tokens. The runner calls it once per bot as the
// bot starts, from many goroutines at once.
type TokenSource interface {
	Token(ctx context.Context, req TokenRequest) (string, error)
}

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context, req TokenRequest) (string, error)

// Token calls f.
func (f TokenFunc) Token(ctx context.Context, req TokenRequest) (string, error) { return f(ctx, req) }

// IssuerTokens mints tokens of tenant t with an auth.Issuer: the operator
// gives the load tester access to the tenant registry (the store, as
// `plenary token` does), or a KeySource holding the tenant's key.
func IssuerTokens(iss *auth.Issuer, t tenant.ID) TokenSource {
	return TokenFunc(func(ctx context.Context, req TokenRequest) (string, error) {
		tok, err := iss.Mint(ctx, auth.MintRequest{Tenant: t, Subject: req.Subject, Name: req.Name,
			Role: req.Role, Rooms: req.Rooms, TTL: req.TTL})
		if err != nil {
			return "", fmt.Errorf("loadtest: mint token for %s: %w", req.Subject, err)
		}
		return tok, nil
	})
}

// TokenEndpointPath is the server endpoint HTTPTokens calls (relative to
// the target's base URL; {tenant} is replaced). It is a proposal to the
// gateway owners, see HTTPTokens.
const TokenEndpointPath = "/v1/tenants/{tenant}/tokens"

// HTTPTokens mints tokens through the server with an organizer token, so
// an operator needs no store access — only the credential of the tenant
// under test:
//
//	POST {base}/v1/tenants/{tenant}/tokens
//	Authorization: Bearer <organizer token of the tenant>
//	{"subject":"lt-ab12-viewers-17","name":"…","role":"attendee","rooms":["keynote"],"ttl_s":3900}
//	→ 200 {"token":"<JWT>"}
//
// The server must refuse roles above the caller's (403), tokens for other
// tenants (401), and should rate-limit per organizer. base is an http(s)
// URL; client nil means http.DefaultClient.
func HTTPTokens(base string, t tenant.ID, organizerToken string, client *http.Client) TokenSource {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimRight(base, "/") + strings.Replace(TokenEndpointPath, "{tenant}", string(t), 1)
	return TokenFunc(func(ctx context.Context, req TokenRequest) (string, error) {
		body, _ := json.Marshal(map[string]any{"subject": req.Subject, "name": req.Name, "role": req.Role.String(),
			"rooms": req.Rooms, "ttl_s": int64(req.TTL.Seconds())})
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return "", fmt.Errorf("loadtest: token request: %w", err)
		}
		hr.Header.Set("Authorization", "Bearer "+organizerToken)
		hr.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(hr)
		if err != nil {
			return "", fmt.Errorf("loadtest: token request: %w", err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("loadtest: token endpoint: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		var out struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
			return "", fmt.Errorf("loadtest: token endpoint: no token in the reply")
		}
		return out.Token, nil
	})
}

// StaticKeys is an auth.KeySource holding one signing key per tenant, for
// minting without a store (tests, or a key exported by an operator).
type StaticKeys map[tenant.ID]auth.Key

// SigningKey implements auth.KeySource.
func (k StaticKeys) SigningKey(_ context.Context, t tenant.ID) (auth.Key, error) {
	key, ok := k[t]
	if !ok {
		return auth.Key{}, auth.ErrUnknownTenant
	}
	return key, nil
}

// VerificationKey implements auth.KeySource.
func (k StaticKeys) VerificationKey(ctx context.Context, t tenant.ID, kid string) (auth.Key, error) {
	key, err := k.SigningKey(ctx, t)
	if err != nil {
		return key, err
	}
	if key.ID != kid {
		return auth.Key{}, auth.ErrUnknownKey
	}
	return key, nil
}
