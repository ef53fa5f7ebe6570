package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder/capture"
)

// recordingMinter remembers what it was asked to mint.
type recordingMinter struct {
	mu   sync.Mutex
	reqs []auth.MintRequest
	err  error
}

func (m *recordingMinter) Mint(_ context.Context, req auth.MintRequest) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return "", m.err
	}
	m.reqs = append(m.reqs, req)
	return "tok." + req.Subject + ".sig", nil
}

// jobSink is a Publisher that keeps the jobs.
type jobSink struct {
	mu   sync.Mutex
	jobs []queue.Job
	err  error
}

func (s *jobSink) Publish(_ context.Context, j queue.Job) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	s.jobs = append(s.jobs, j)
	return "job-1", nil
}

// claimsFromHeader stands in for auth.Middleware: the test names the
// caller's claims in X-Test-Role / X-Test-Rooms.
func claimsFromHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		role, err := auth.ParseRole(r.Header.Get("X-Test-Role"))
		if err != nil {
			auth.WriteError(w, auth.ErrMissingToken)
			return
		}
		c := &auth.Claims{Tenant: tenant.MustParse("acme"), Subject: "caller", Role: role, ExpiresAt: time.Now().Add(time.Hour)}
		if rooms := r.Header.Get("X-Test-Rooms"); rooms != "" {
			c.Rooms = strings.Split(rooms, ",")
		}
		next.ServeHTTP(w, r.WithContext(auth.WithClaims(r.Context(), c)))
	})
}

func newAPI(t *testing.T, m Minter, q Publisher, base string) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	require.NoError(t, RegisterAPI(mux, APIDeps{Authn: claimsFromHeader, Minter: m, Queue: q, BaseURL: base}))
	return mux
}

func call(t *testing.T, h http.Handler, method, path, role, rooms, body string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "events.test"
	if role != "" {
		req.Header.Set("X-Test-Role", role)
	}
	if rooms != "" {
		req.Header.Set("X-Test-Rooms", rooms)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec, out
}

func TestRegisterAPIRequiresAuthn(t *testing.T) {
	require.ErrorIs(t, RegisterAPI(http.NewServeMux(), APIDeps{}), ErrInvalidRequest)
}

func TestInvites(t *testing.T) {
	m := &recordingMinter{}
	h := newAPI(t, m, nil, "")
	cases := []struct {
		name, role, body string
		status           int
	}{
		{"speaker link for one room", "organizer", `{"name":"Ada","role":"speaker","rooms":["main-stage"],"ttl_hours":2,"path":"/t/acme/stage/main-stage?c=con"}`, 201},
		{"defaults", "organizer", `{"role":"attendee"}`, 201},
		{"moderators cannot invite", "moderator", `{"role":"speaker"}`, 403},
		{"no organizer links", "organizer", `{"role":"organizer"}`, 400},
		{"unknown role", "organizer", `{"role":"boss"}`, 400},
		{"bad room", "organizer", `{"role":"speaker","rooms":["../x"]}`, 400},
		{"ttl too long", "organizer", `{"role":"speaker","ttl_hours":100000}`, 400},
		{"negative ttl", "organizer", `{"role":"speaker","ttl_hours":-1}`, 400},
		{"path of another tenant", "organizer", `{"role":"speaker","path":"/t/other/"}`, 400},
		{"path off-site", "organizer", `{"role":"speaker","path":"//evil.example/t/acme/"}`, 400},
		{"path with traversal", "organizer", `{"role":"speaker","path":"/t/acme/../../v1/me"}`, 400},
		{"unknown field", "organizer", `{"role":"speaker","admin":true}`, 400},
		{"not JSON", "organizer", `role=speaker`, 400},
		{"name too long", "organizer", `{"role":"speaker","name":"` + strings.Repeat("x", 101) + `"}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, out := call(t, h, "POST", "/v1/invites", tc.role, "", tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.status != 201 {
				require.Contains(t, out, "error")
				return
			}
			u, err := url.Parse(out["url"].(string))
			require.NoError(t, err)
			require.Equal(t, "events.test", u.Host)
			require.True(t, strings.HasPrefix(u.Path, "/t/acme/"), u.Path)
			require.Equal(t, out["token"], u.Query().Get("token"))
		})
	}
	require.Len(t, m.reqs, 2)
	first := m.reqs[0]
	require.Equal(t, auth.RoleSpeaker, first.Role)
	require.Equal(t, []string{"main-stage"}, first.Rooms)
	require.Equal(t, 2*time.Hour, first.TTL)
	require.Equal(t, "Ada", first.Name)
	require.Equal(t, tenant.MustParse("acme"), first.Tenant)
	require.True(t, strings.HasPrefix(first.Subject, "invite-"))
	require.NotEqual(t, m.reqs[0].Subject, m.reqs[1].Subject, "every invitation is its own identity")
	require.Equal(t, defaultInviteTTL, m.reqs[1].TTL)
}

func TestInviteBaseURLAndFailures(t *testing.T) {
	h := newAPI(t, &recordingMinter{}, nil, "https://events.example.org/")
	rec, out := call(t, h, "POST", "/v1/invites", "organizer", "", `{"role":"speaker","path":"/t/acme/stage/x?c=y"}`)
	require.Equal(t, 201, rec.Code)
	require.True(t, strings.HasPrefix(out["url"].(string), "https://events.example.org/t/acme/stage/x?c=y&token="), out["url"])

	down := newAPI(t, &recordingMinter{err: errors.New("store down")}, nil, "")
	rec, out = call(t, down, "POST", "/v1/invites", "organizer", "", `{"role":"speaker"}`)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	e := out["error"].(map[string]any)
	require.Equal(t, true, e["retryable"])
	require.NotContains(t, rec.Body.String(), "store down", "internal errors stay internal")

	rec, _ = call(t, down, "POST", "/v1/invites", "", "", `{"role":"speaker"}`)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestRecordingCommands(t *testing.T) {
	q := &jobSink{}
	h := newAPI(t, nil, q, "")
	cases := []struct {
		name, role, rooms, room, body string
		status                        int
	}{
		{"moderator starts", "moderator", "", "main-stage", `{"action":"start","session":"g1","title":"Keynote","track":"Keynotes"}`, 202},
		{"moderator stops", "moderator", "main-stage", "main-stage", `{"action":"stop","recording":"rec-1"}`, 202},
		{"organizer without grant", "organizer", "other", "main-stage", `{"action":"stop"}`, 202},
		{"moderator without grant", "moderator", "other", "main-stage", `{"action":"start"}`, 403},
		{"speaker", "speaker", "", "main-stage", `{"action":"start"}`, 403},
		{"bad action", "moderator", "", "main-stage", `{"action":"pause"}`, 400},
		{"bad room", "moderator", "", "-x", `{"action":"start"}`, 400},
		{"title too long", "moderator", "", "main-stage", `{"action":"start","title":"` + strings.Repeat("t", 301) + `"}`, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := call(t, h, "POST", "/v1/rooms/"+tc.room+"/recording", tc.role, tc.rooms, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
		})
	}
	require.Len(t, q.jobs, 3)
	j := q.jobs[0]
	require.Equal(t, capture.CommandQueue, j.Queue)
	require.Equal(t, capture.KindStart, j.Kind)
	require.Equal(t, tenant.MustParse("acme"), j.Tenant)
	// The payload decodes as the recorder's own command type.
	var cmd capture.Command
	dec := json.NewDecoder(strings.NewReader(string(j.Payload)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&cmd))
	require.Equal(t, capture.Command{Room: "main-stage", Session: "g1", Title: "Keynote", Track: "Keynotes"}, cmd)
	require.Equal(t, capture.KindStop, q.jobs[1].Kind)

	q.err = errors.New("broker down")
	rec, _ := call(t, h, "POST", "/v1/rooms/main-stage/recording", "moderator", "", `{"action":"start"}`)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
}

// TestRecorderContract keeps the mirrored constants equal to the recorder's.
func TestRecorderContract(t *testing.T) {
	require.Equal(t, capture.CommandQueue, RecorderQueue)
	require.Equal(t, capture.KindStart, RecorderStart)
	require.Equal(t, capture.KindStop, RecorderStop)
}
