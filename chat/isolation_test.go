package chat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// TestTenantIsolation: two tenants with a room of the same name have two
// histories, two sequences and two sets of state; nothing one tenant does
// is visible to the other over the WebSocket handler or REST.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, chat.Config{}, nil)
	a := conn(tenantA, "same-user", auth.RoleOrganizer, "main")
	b := conn(tenantB, "same-user", auth.RoleAttendee, "main")
	e.send(a, "main", "secret of alpha")
	e.send(a, "main", "more alpha")
	require.Equal(t, uint64(1), e.send(b, "main", "beta's first"), "sequences are per tenant")

	// WebSocket: replay, paging, Q&A and polls only ever see the own tenant.
	evs, _ := e.join(b, "main", 0)
	require.Len(t, evs, 1)
	require.Equal(t, "beta's first", text(t, evs[0]))
	page := e.must(b, "chat.history", "main", map[string]any{})
	require.Len(t, page["events"], 1)
	qid := e.must(a, "qa.ask", "main", map[string]any{"text": "alpha question"})["id"].(string)
	require.Empty(t, e.must(b, "qa.list", "main", map[string]any{})["questions"])
	require.Equal(t, protocol.CodeNotFound, e.code(b, "qa.upvote", "main", map[string]any{"id": qid}))
	pid := e.must(a, "poll.create", "main", map[string]any{"question": "?", "options": []string{"x", "y"}})["id"].(string)
	require.Equal(t, protocol.CodeNotFound, e.code(b, "poll.vote", "main", map[string]any{"id": pid, "option": 0}))
	require.Equal(t, protocol.CodeNotFound, e.code(b, "chat.react", "main", map[string]any{"message": 2, "emoji": "👍"}))
	// A silence in one tenant does not touch the same subject in another.
	e.must(a, "chat.silence", "main", map[string]any{"user": "same-user", "scope": "convention"})
	e.send(b, "main", "not silenced here")
	for _, ev := range e.pub.room(tenantB, "main") {
		require.NotContains(t, string(ev.Data), "alpha")
	}

	// A request naming another tenant is refused with its own code.
	require.Equal(t, protocol.CodeWrongTenant, e.code(b, "chat.send", "main", map[string]any{"text": "hi", "tenant": "alpha"}))
	require.Equal(t, protocol.CodeWrongTenant, e.code(b, "chat.history", "main", map[string]any{"tenant": "alpha"}))
	e.must(b, "chat.history", "main", map[string]any{"tenant": "beta"})

	// A connection whose claims disagree with its tenant is refused.
	forged := conn(tenantB, "x", auth.RoleAttendee, "main")
	forged.claims.Tenant = tenantA
	require.Equal(t, protocol.CodeUnauthorized, e.code(&tenantMismatch{forged}, "chat.send", "main", map[string]any{"text": "hi"}))
}

// tenantMismatch is a connection whose Tenant disagrees with its claims.
type tenantMismatch struct{ *fakeConn }

func (c *tenantMismatch) Tenant() tenant.ID { return tenantB }

// TestHistoryREST drives GET /v1/rooms/{room}/messages through the real
// auth middleware with real tokens of two tenants.
func TestHistoryREST(t *testing.T) {
	e := newEnv(t, chat.Config{MaxPage: 5}, nil)
	ctx := context.Background()
	tenants := auth.NewTenants(e.st, auth.WithLogger(quietLog))
	for _, id := range []string{"alpha", "beta"} {
		_, err := tenants.CreateTenant(ctx, tenant.MustParse(id), id)
		require.NoError(t, err)
	}
	issuer := auth.NewIssuer(tenants, auth.IssuerOptions{})
	verifier := auth.NewVerifier(tenants, auth.VerifierOptions{})
	mux := http.NewServeMux()
	mux.Handle(chat.HistoryRoute, auth.Middleware(verifier, auth.MiddlewareOptions{Log: quietLog})(e.svc.HistoryHandler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	a := conn(tenantA, "a", auth.RoleAttendee, "main")
	for i := 1; i <= 8; i++ {
		e.send(a, "main", fmt.Sprintf("alpha %d", i))
	}
	e.send(conn(tenantB, "b", auth.RoleAttendee, "main"), "main", "beta 1")

	token := func(tn, sub string, rooms ...string) string {
		tok, err := issuer.Mint(ctx, auth.MintRequest{Tenant: tenant.MustParse(tn), Subject: sub, Role: auth.RoleAttendee, Rooms: rooms})
		require.NoError(t, err)
		return tok
	}
	get := func(path, tok string) (int, map[string]any) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer func() { _ = res.Body.Close() }()
		var body map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		return res.StatusCode, body
	}
	texts := func(body map[string]any) []string {
		var out []string
		for _, ev := range body["events"].([]any) {
			out = append(out, ev.(map[string]any)["data"].(map[string]any)["text"].(string))
		}
		return out
	}

	status, body := get("/v1/rooms/main/messages", token("alpha", "reader"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []string{"alpha 4", "alpha 5", "alpha 6", "alpha 7", "alpha 8"}, texts(body))
	require.Equal(t, true, body["more"])
	status, body = get("/v1/rooms/main/messages?before=4&limit=2", token("alpha", "reader"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []string{"alpha 2", "alpha 3"}, texts(body))

	// Tenant B's token on the same URL reads tenant B's room only.
	status, body = get("/v1/rooms/main/messages", token("beta", "reader"))
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, []string{"beta 1"}, texts(body))

	status, _ = get("/v1/rooms/main/messages", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = get("/v1/rooms/main/messages", token("alpha", "reader", "other-room"))
	require.Equal(t, http.StatusForbidden, status, "room not granted by the token")
	status, body = get("/v1/rooms/main/messages?limit=-1", token("alpha", "reader"))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, float64(protocol.CodeInvalidPayload), body["error"].(map[string]any)["code"])
	status, _ = get("/v1/rooms/bad%20room/messages", token("alpha", "reader"))
	require.Equal(t, http.StatusBadRequest, status)

	// A banned user cannot page.
	e.must(conn(tenantA, "mod", auth.RoleModerator, "main"), "chat.ban", "main", map[string]any{"user": "reader"})
	status, body = get("/v1/rooms/main/messages", token("alpha", "reader"))
	require.Equal(t, http.StatusForbidden, status)
	require.Equal(t, float64(protocol.CodeBanned), body["error"].(map[string]any)["code"])
}
