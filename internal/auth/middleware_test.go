package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

// server routes like the platform: /t/{tenant}/... pages and WebSocket,
// /v1/tenants/{tenant}/... organizer API, all behind the middleware.
func newServer(t *testing.T, e *env) *httptest.Server {
	t.Helper()
	mw := auth.Middleware(e.verifier, auth.MiddlewareOptions{})
	sameTenant := auth.RequireTenant(auth.TenantFromPathValue("tenant"))
	whoami := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.ClaimsFrom(r.Context())
		if !ok {
			http.Error(w, "no claims", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"tenant": string(c.Tenant), "sub": c.Subject, "role": c.Role.String()})
	})
	upgrader := websocket.Upgrader{}
	ws := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := auth.ClaimsFrom(r.Context())
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.WriteMessage(websocket.TextMessage, []byte("hello "+c.Subject))
	})
	room := auth.RequireRoom(func(r *http.Request) (string, bool) {
		v := r.PathValue("room")
		return v, v != ""
	})

	mux := http.NewServeMux()
	mux.Handle("GET /t/{tenant}/whoami", mw(sameTenant(whoami)))
	mux.Handle("GET /t/{tenant}/ws", mw(sameTenant(ws)))
	mux.Handle("GET /t/{tenant}/rooms/{room}", mw(sameTenant(room(whoami))))
	mux.Handle("GET /v1/tenants/{tenant}/settings", mw(sameTenant(auth.RequireRole(auth.RoleOrganizer)(whoami))))
	mux.Handle("GET /any/", mw(auth.RequireTenant(auth.TenantFromPathPrefix("/any/"))(whoami)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type errorResponse struct {
	Error struct {
		Code      int    `json:"code"`
		Message   string `json:"message"`
		Retryable *bool  `json:"retryable"`
	} `json:"error"`
}

func TestMiddlewareHTTP(t *testing.T) {
	e := newEnv(t)
	srv := newServer(t, e)
	keyA := e.a.Keys[0]
	now := time.Now()
	valid := e.mint(t, tenantA, auth.RoleAttendee)
	upgrade := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}}

	tests := []struct {
		name   string
		path   string
		auth   string      // Authorization header value
		header http.Header // extra headers
		status int
		code   auth.Code // 0 on success
	}{
		{"valid", "/t/alpha/whoami", "Bearer " + valid, nil, 200, 0},
		{"bearer scheme case-insensitive", "/t/alpha/whoami", "bearer " + valid, nil, 200, 0},
		{"missing token", "/t/alpha/whoami", "", nil, 401, auth.CodeMissingToken},
		{"not a bearer scheme", "/t/alpha/whoami", "Basic dXNlcjpwYXNz", nil, 401, auth.CodeMissingToken},
		{"malformed", "/t/alpha/whoami", "Bearer not.a.jwt", nil, 401, auth.CodeMalformed},
		{"expired", "/t/alpha/whoami", "Bearer " + craft(t, hs256Header(keyA.ID), with(claims(tenantA), "iat", now.Add(-2*time.Hour).Unix(), "nbf", now.Add(-2*time.Hour).Unix(), "exp", now.Add(-time.Hour).Unix()), keyA.Secret), nil, 401, auth.CodeExpired},
		{"not yet valid", "/t/alpha/whoami", "Bearer " + craft(t, hs256Header(keyA.ID), with(claims(tenantA), "nbf", now.Add(10*time.Minute).Unix()), keyA.Secret), nil, 401, auth.CodeNotYetValid},
		{"wrong tenant", "/t/beta/whoami", "Bearer " + valid, nil, 401, auth.CodeWrongTenant},
		{"wrong tenant, invalid id in url", "/t/BETA/whoami", "Bearer " + valid, nil, 401, auth.CodeWrongTenant},
		{"wrong tenant by prefix", "/any/beta/x", "Bearer " + valid, nil, 401, auth.CodeWrongTenant},
		{"right tenant by prefix", "/any/alpha/x", "Bearer " + valid, nil, 200, 0},
		{"tampered", "/t/alpha/whoami", "Bearer " + tamperPayload(t, valid), nil, 401, auth.CodeBadSignature},
		{"alg none", "/t/alpha/whoami", "Bearer " + craft(t, map[string]any{"alg": "none", "kid": keyA.ID}, claims(tenantA), nil), nil, 401, auth.CodeAlgNone},
		{"alg HS512", "/t/alpha/whoami", "Bearer " + craft(t, map[string]any{"alg": "HS512", "kid": keyA.ID}, claims(tenantA), keyA.Secret), nil, 401, auth.CodeBadAlgorithm},
		{"alg RS256", "/t/alpha/whoami", "Bearer " + craft(t, map[string]any{"alg": "RS256", "kid": keyA.ID}, claims(tenantA), keyA.Secret), nil, 401, auth.CodeBadAlgorithm},
		{"unknown kid", "/t/alpha/whoami", "Bearer " + craft(t, hs256Header("0000000000000000"), claims(tenantA), keyA.Secret), nil, 401, auth.CodeUnknownKey},
		{"unknown tenant", "/t/nobody/whoami", "Bearer " + craft(t, hs256Header(keyA.ID), claims("nobody"), keyA.Secret), nil, 401, auth.CodeUnknownTenant},
		{"forged tid on B's url", "/t/beta/whoami", "Bearer " + craft(t, hs256Header(keyA.ID), claims(tenantB), keyA.Secret), nil, 401, auth.CodeUnknownKey},
		{"query token ignored without upgrade", "/t/alpha/whoami?access_token=" + valid, "", nil, 401, auth.CodeMissingToken},
		{"role too low", "/v1/tenants/alpha/settings", "Bearer " + valid, nil, 403, auth.CodeForbidden},
		{"role sufficient", "/v1/tenants/alpha/settings", "Bearer " + e.mint(t, tenantA, auth.RoleOrganizer), nil, 200, 0},
		{"room granted", "/t/alpha/rooms/main", "Bearer " + e.mint(t, tenantA, auth.RoleSpeaker, "main"), nil, 200, 0},
		{"room not granted", "/t/alpha/rooms/side", "Bearer " + e.mint(t, tenantA, auth.RoleSpeaker, "main"), nil, 403, auth.CodeForbidden},
		{"no room grants means all rooms", "/t/alpha/rooms/side", "Bearer " + valid, nil, 200, 0},
		{"upgrade with bad query token refused", "/t/alpha/ws?access_token=garbage", "", upgrade, 401, auth.CodeMalformed},
		{"upgrade with expired query token refused", "/t/alpha/ws?access_token=" + url.QueryEscape(craft(t, hs256Header(keyA.ID), with(claims(tenantA), "exp", now.Add(-time.Hour).Unix()), keyA.Secret)), "", upgrade, 401, auth.CodeExpired},
		{"upgrade of wrong tenant refused", "/t/beta/ws?access_token=" + valid, "", upgrade, 401, auth.CodeWrongTenant},
		{"upgrade without token refused", "/t/alpha/ws", "", upgrade, 401, auth.CodeMissingToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+tt.path, nil)
			require.NoError(t, err)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tt.status, resp.StatusCode, "body %s", body)
			if tt.code == 0 {
				return
			}
			var er errorResponse
			require.NoError(t, json.Unmarshal(body, &er), "body %s", body)
			require.Equal(t, int(tt.code), er.Error.Code)
			require.NotEmpty(t, er.Error.Message)
			require.NotNil(t, er.Error.Retryable)
			require.False(t, *er.Error.Retryable)
			require.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			challenge := resp.Header.Get("WWW-Authenticate")
			switch {
			case tt.code == auth.CodeMissingToken:
				require.Equal(t, `Bearer realm="plenary"`, challenge)
			case tt.status == 401:
				require.Contains(t, challenge, `error="invalid_token"`)
				require.Contains(t, challenge, `error_description="`+er.Error.Message+`"`)
			case tt.status == 403:
				require.Contains(t, challenge, `error="insufficient_scope"`)
			}
		})
	}
}

func TestMiddlewareWebSocket(t *testing.T) {
	e := newEnv(t)
	srv := newServer(t, e)
	wsURL := "ws" + strings.TrimPrefix(srv.URL, "http")
	valid := e.mint(t, tenantA, auth.RoleAttendee)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("query token accepted", func(t *testing.T) {
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL+"/t/alpha/ws?access_token="+valid, nil)
		require.NoError(t, err)
		defer conn.Close()
		_ = resp.Body.Close()
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "hello user-1", string(msg))
	})
	t.Run("header token accepted", func(t *testing.T) {
		conn, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL+"/t/alpha/ws", http.Header{"Authorization": {"Bearer " + valid}})
		require.NoError(t, err)
		defer conn.Close()
		_ = resp.Body.Close()
		_, msg, err := conn.ReadMessage()
		require.NoError(t, err)
		require.Equal(t, "hello user-1", string(msg))
	})
	refused := []struct {
		name  string
		query string
		path  string
		code  auth.Code
	}{
		{"bad token", "garbage", "/t/alpha/ws", auth.CodeMalformed},
		{"tampered token", tamperPayload(t, valid), "/t/alpha/ws", auth.CodeBadSignature},
		{"wrong tenant", valid, "/t/beta/ws", auth.CodeWrongTenant},
		{"no token", "", "/t/alpha/ws", auth.CodeMissingToken},
	}
	for _, tt := range refused {
		t.Run(tt.name+" refused before upgrade", func(t *testing.T) {
			u := wsURL + tt.path
			if tt.query != "" {
				u += "?access_token=" + url.QueryEscape(tt.query)
			}
			conn, resp, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
			if conn != nil {
				_ = conn.Close()
			}
			require.ErrorIs(t, err, websocket.ErrBadHandshake)
			require.NotNil(t, resp)
			defer resp.Body.Close()
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			var er errorResponse
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&er))
			require.Equal(t, int(tt.code), er.Error.Code)
		})
	}
}

func TestRequireWithoutMiddleware(t *testing.T) {
	h := auth.RequireRole(auth.RoleAttendee)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("handler reached without claims")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestWriteErrorUnavailable(t *testing.T) {
	rec := httptest.NewRecorder()
	auth.WriteError(rec, auth.ErrUnavailable)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	var er errorResponse
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &er))
	require.Equal(t, int(auth.CodeUnavailable), er.Error.Code)
	require.True(t, *er.Error.Retryable)
}
