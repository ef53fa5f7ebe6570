package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// TokenRoute is where TokenEndpoint is mounted, behind Middleware.
const TokenRoute = "POST /v1/tenants/{tenant}/tokens"

// MaxMintTTL bounds the lifetime of tokens minted over HTTP.
const MaxMintTTL = 7 * 24 * time.Hour

// mintBody is the request of TokenRoute.
type mintBody struct {
	Subject string   `json:"subject"`
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Rooms   []string `json:"rooms"`
	TTLSec  int64    `json:"ttl_s"`
}

// TokenEndpoint lets an organizer mint tokens for users of its own tenant
// (invite links, load-test bots): the caller must be an organizer of the
// tenant in the path (another tenant's token gets 401), may not mint a role
// above its own, and may not mint for longer than MaxMintTTL. It must be
// wrapped by Middleware so that claims are in the request context.
func TokenEndpoint(iss *Issuer) http.Handler {
	return RequireTenant(TenantFromPathValue("tenant"))(RequireRole(RoleOrganizer)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, ok := ClaimsFrom(r.Context())
		if !ok {
			WriteError(w, ErrMissingToken)
			return
		}
		var b mintBody
		dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			badRequest(w, fmt.Sprintf("invalid body: %v", err))
			return
		}
		role, err := ParseRole(b.Role)
		if err != nil {
			badRequest(w, "role: use attendee, speaker, moderator or organizer")
			return
		}
		if !caller.Role.AtLeast(role) {
			WriteError(w, fmt.Errorf("%w: cannot mint role %s", ErrForbidden, role))
			return
		}
		ttl := time.Duration(b.TTLSec) * time.Second
		if b.TTLSec < 0 || ttl > MaxMintTTL {
			badRequest(w, fmt.Sprintf("ttl_s: between 0 (default 1h) and %d", int64(MaxMintTTL/time.Second)))
			return
		}
		tok, err := iss.Mint(r.Context(), MintRequest{
			Tenant: caller.Tenant, Subject: b.Subject, Name: b.Name, Role: role, Rooms: b.Rooms, TTL: ttl,
		})
		if errors.Is(err, ErrInvalidRequest) {
			badRequest(w, err.Error())
			return
		}
		if err != nil {
			WriteError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	})))
}

// CodeInvalidBody is the code of a 400 answer to a malformed request body.
const CodeInvalidBody Code = 1014

func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(errorBody{Error: ClientError{Code: CodeInvalidBody, Message: msg}})
}
