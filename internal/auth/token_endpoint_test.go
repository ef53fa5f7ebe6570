package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	mux.Handle(auth.TokenRoute, auth.Middleware(e.verifier, auth.MiddlewareOptions{})(auth.TokenEndpoint(e.issuer)))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(t *testing.T, tenantPath, token, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/v1/tenants/"+tenantPath+"/tokens", strings.NewReader(body))
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	orgA := e.mint(t, tenantA, auth.RoleOrganizer)
	modA := e.mint(t, tenantA, auth.RoleModerator)
	orgB := e.mint(t, tenantB, auth.RoleOrganizer)
	good := `{"subject":"bot-1","name":"Bot","role":"attendee","rooms":["main"],"ttl_s":600}`

	tests := []struct {
		name, tenant, token, body string
		code                      int
	}{
		{"organizer mints for its tenant", "alpha", orgA, good, 200},
		{"organizer may mint organizers", "alpha", orgA, `{"subject":"o","role":"organizer"}`, 200},
		{"no token", "alpha", "", good, 401},
		{"other tenant's organizer", "alpha", orgB, good, 401},
		{"moderator may not mint", "alpha", modA, good, 403},
		{"unknown field", "alpha", orgA, `{"subject":"x","role":"attendee","admin":true}`, 400},
		{"bad role", "alpha", orgA, `{"subject":"x","role":"king"}`, 400},
		{"no subject", "alpha", orgA, `{"role":"attendee"}`, 400},
		{"ttl too long", "alpha", orgA, `{"subject":"x","role":"attendee","ttl_s":99999999}`, 400},
		{"not json", "alpha", orgA, `subject=x`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := post(t, tt.tenant, tt.token, tt.body)
			require.Equal(t, tt.code, code, body)
			if code != 200 {
				require.Contains(t, body, `"code":`)
				return
			}
			var r struct{ Token string }
			require.NoError(t, json.Unmarshal([]byte(body), &r))
			c, err := e.verifier.Verify(context.Background(), r.Token)
			require.NoError(t, err)
			require.Equal(t, tenantA, c.Tenant, "minted for the caller's tenant")
		})
	}
	code, body := post(t, "alpha", orgA, good)
	require.Equal(t, 200, code)
	var r struct{ Token string }
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	c, err := e.verifier.Verify(context.Background(), r.Token)
	require.NoError(t, err)
	require.Equal(t, "bot-1", c.Subject)
	require.Equal(t, auth.RoleAttendee, c.Role)
	require.Equal(t, []string{"main"}, c.Rooms)
}
