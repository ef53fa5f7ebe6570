package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// AccessTokenParam is the query parameter that carries the token on a
// WebSocket upgrade, since browsers cannot set headers on one. It is read
// on upgrade requests only, so tokens do not end up in ordinary URLs.
const AccessTokenParam = "access_token"

// Realm is the realm named in WWW-Authenticate challenges.
const Realm = "plenary"

// MiddlewareOptions configures Middleware. The zero value is ready to use.
type MiddlewareOptions struct {
	// Log receives rejected requests at debug level (warn when keys could
	// not be read). Nil means slog.Default().
	Log *slog.Logger
}

// Middleware authenticates every request with v: it takes the token from
// "Authorization: Bearer <JWT>" or, on a WebSocket upgrade request only,
// from the access_token query parameter (the header wins when both are
// present). A request without a valid token is answered by WriteError (401,
// or 503 if keys are unavailable) and never reaches next; so a WebSocket
// upgrade is refused before the handshake. A valid token's claims are put in
// the request context; read them with ClaimsFrom.
func Middleware(v Verifier, opts MiddlewareOptions) func(http.Handler) http.Handler {
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "auth")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := v.Verify(r.Context(), TokenFromRequest(r))
			if err != nil {
				level := slog.LevelDebug
				if HTTPStatus(err) >= http.StatusInternalServerError {
					level = slog.LevelWarn
				}
				log.Log(r.Context(), level, "request rejected",
					"path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
				WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithClaims(r.Context(), c)))
		})
	}
}

// TokenFromRequest returns the bearer token of r, or "" if it carries none:
// the Authorization header with the Bearer scheme (RFC 6750 §2.1), else, for
// a WebSocket upgrade, the access_token query parameter (RFC 6750 §2.3).
func TokenFromRequest(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if tok = strings.TrimSpace(tok); tok != "" {
				return tok
			}
		}
	}
	if IsWebSocketUpgrade(r) {
		return r.URL.Query().Get(AccessTokenParam)
	}
	return ""
}

// IsWebSocketUpgrade reports whether r asks for a WebSocket handshake
// (RFC 6455 §4.1: GET with "Connection: Upgrade" and "Upgrade: websocket").
func IsWebSocketUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet &&
		headerHasToken(r.Header, "Connection", "upgrade") &&
		headerHasToken(r.Header, "Upgrade", "websocket")
}

// headerHasToken reports whether a comma-separated header lists tok,
// ignoring case.
func headerHasToken(h http.Header, name, tok string) bool {
	for _, v := range h.Values(name) {
		for part := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), tok) {
				return true
			}
		}
	}
	return false
}

type claimsKey struct{}

// WithClaims returns ctx carrying c. The middleware calls it; tests of
// handlers may too.
func WithClaims(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the verified claims the middleware put in ctx.
func ClaimsFrom(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// TenantFunc extracts the tenant a request's URL names; ok is false when
// the URL names none.
type TenantFunc func(r *http.Request) (id string, ok bool)

// TenantFromPathValue reads the tenant from a net/http ServeMux wildcard,
// e.g. TenantFromPathValue("tenant") for the pattern "/t/{tenant}/...". The
// check must then wrap the handler registered for that pattern.
func TenantFromPathValue(name string) TenantFunc {
	return func(r *http.Request) (string, bool) {
		v := r.PathValue(name)
		return v, v != ""
	}
}

// TenantFromPathPrefix reads the tenant from the path segment following
// prefix, e.g. TenantFromPathPrefix("/v1/tenants/") for
// "/v1/tenants/{tenant}/...". It works with any router.
func TenantFromPathPrefix(prefix string) TenantFunc {
	return func(r *http.Request) (string, bool) {
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			return "", false
		}
		seg, _, _ := strings.Cut(rest, "/")
		return seg, seg != ""
	}
}

// RequireTenant rejects requests whose URL names a tenant other than the
// token's with ErrWrongTenant. The foundation issue asks for HTTP 401 here
// (the token is not valid for this resource), not 403; a URL tenant that is
// not even a valid tenant ID gets the same answer. Requests whose URL names
// no tenant pass. It must run after Middleware.
func RequireTenant(from TenantFunc) func(http.Handler) http.Handler {
	return check(func(r *http.Request, c *Claims) error {
		id, ok := from(r)
		if !ok {
			return nil
		}
		return c.CheckTenant(tenant.ID(id))
	})
}

// RequireRole rejects requests whose token's role is below minRole with
// ErrForbidden (HTTP 403). It must run after Middleware.
func RequireRole(minRole Role) func(http.Handler) http.Handler {
	return check(func(_ *http.Request, c *Claims) error { return c.CheckRole(minRole) })
}

// RequireRoom rejects requests for a room the token does not grant with
// ErrForbidden (HTTP 403); from extracts the room, ok false meaning the
// request names none. It must run after Middleware.
func RequireRoom(from func(r *http.Request) (room string, ok bool)) func(http.Handler) http.Handler {
	return check(func(r *http.Request, c *Claims) error {
		room, ok := from(r)
		if !ok {
			return nil
		}
		return c.CheckRoom(room)
	})
}

// check builds a middleware that runs fn on the request's claims; a request
// without claims (Middleware not installed) is refused as unauthenticated.
func check(fn func(*http.Request, *Claims) error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := ClaimsFrom(r.Context())
			if !ok {
				WriteError(w, ErrMissingToken)
				return
			}
			if err := fn(r, c); err != nil {
				WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// errorBody is the JSON error envelope: {"error":{"code","message","retryable"}}.
type errorBody struct {
	Error ClientError `json:"error"`
}

// WriteError answers a request refused because of err: status from
// HTTPStatus, a WWW-Authenticate challenge (RFC 6750 §3) and the JSON body
// {"error":{"code":N,"message":"...","retryable":bool}}. A request with no
// token gets a bare challenge without error attributes, as RFC 6750 §3.1
// asks; other token failures get error="invalid_token", and a role or room
// refusal error="insufficient_scope".
func WriteError(w http.ResponseWriter, err error) {
	ce := ToClientError(err)
	status := HTTPStatus(err)
	h := w.Header()
	switch {
	case ce.Code == CodeMissingToken:
		h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
	case status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="invalid_token", error_description="`+ce.Message+`"`)
	case status == http.StatusForbidden:
		h.Set("WWW-Authenticate", `Bearer realm="`+Realm+`", error="insufficient_scope", error_description="`+ce.Message+`"`)
	case ce.Retryable:
		h.Set("Retry-After", "1")
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	body, _ := json.Marshal(errorBody{Error: ce})
	_, _ = w.Write(append(body, '\n'))
}
