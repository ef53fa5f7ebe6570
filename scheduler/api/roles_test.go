package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
)

// routeCase is one route with a request that succeeds for an organizer.
type routeCase struct {
	method, pattern string
	path            string
	body            string
	ctype           string
	ok              int
	// organizerOnly routes answer 403 to attendees.
	organizerOnly bool
	// creates routes make a new convention in the caller's tenant, so
	// another tenant's organizer succeeds instead of getting 404.
	creates bool
}

// fixture is a populated tenant alpha: convention "con" (published, from a
// real file), "draft" (unpublished) and "trash", and spare entities the
// DELETE cases remove.
type fixture struct {
	room, track, guid, start string
}

func setupFixture(t *testing.T, e *env) fixture {
	t.Helper()
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	mustStatus := func(r response, want int) {
		t.Helper()
		require.Equal(t, want, r.status, "%s", r.body)
	}
	mustStatus(e.do(t, "POST", "/v1/conventions/con/schedule", org, testfiles.Read(t, "pretalx-rc3.json"), "application/json"), 200)
	mustStatus(e.do(t, "POST", "/v1/conventions/con/publish", org, nil, ""), 200)
	for _, slug := range []string{"draft", "trash"} {
		mustStatus(e.do(t, "POST", "/v1/conventions", org, []byte(`{"slug":"`+slug+`","title":"`+slug+`","time_zone":"Europe/Berlin","day_change":"06:00","start":"2026-03-01","end":"2026-03-02"}`), "application/json"), 201)
	}
	tt, err := e.cat.Fresh(t.Context(), tenantA, "con")
	require.NoError(t, err)
	s := tt.Schedule()
	f := fixture{room: s.Sessions[0].Room, track: s.Sessions[0].Track, guid: s.Sessions[0].GUID, start: s.Sessions[0].Start.UTC().Format(time.RFC3339)}
	require.NotEmpty(t, f.track)
	createSpares(t, e, f)
	return f
}

// feedPath returns the path of ada's current private feed URL.
func feedPath(t *testing.T, e *env) string {
	t.Helper()
	r := e.do(t, "GET", "/v1/conventions/con/agenda/feed", e.token(t, tenantA, auth.RoleAttendee, "ada"), nil, "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	var link struct{ URL string }
	require.NoError(t, json.Unmarshal(r.body, &link))
	u, err := url.Parse(link.URL)
	require.NoError(t, err)
	return u.Path
}

// createSpares adds the entities the DELETE cases remove (a re-import of the
// file removes them too: the file is the whole timetable).
func createSpares(t *testing.T, e *env, f fixture) {
	t.Helper()
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	mustStatus := func(r response, want int) {
		t.Helper()
		require.Equal(t, want, r.status, "%s", r.body)
	}
	mustStatus(e.do(t, "POST", "/v1/conventions/con/rooms", org, []byte(`{"name":"Spare Room"}`), "application/json"), 201)
	mustStatus(e.do(t, "POST", "/v1/conventions/con/tracks", org, []byte(`{"name":"Spare Track","color":"#ff0000"}`), "application/json"), 201)
	mustStatus(e.do(t, "POST", "/v1/conventions/con/speakers", org, []byte(`{"name":"Spare Speaker"}`), "application/json"), 201)
	mustStatus(e.do(t, "POST", "/v1/conventions/con/sessions", org,
		[]byte(`{"guid":"spare-session","title":"Spare","start":"`+f.start+`","duration_minutes":15,"room":"Spare Room"}`), "application/json"), 201)
}

func routeCases(f fixture) []routeCase {
	const c = "/v1/conventions/con"
	const cp = "/v1/conventions/{slug}"
	room, track := url.PathEscape(f.room), url.PathEscape(f.track)
	js := "application/json"
	return []routeCase{
		{method: "GET", pattern: "/v1/conventions", path: "/v1/conventions", ok: 200},
		{method: "POST", pattern: "/v1/conventions", path: "/v1/conventions", ok: 201, organizerOnly: true, creates: true,
			body: `{"slug":"fresh","title":"Fresh","time_zone":"UTC","start":"2026-05-01"}`, ctype: js},
		{method: "GET", pattern: cp, path: c, ok: 200},
		{method: "PUT", pattern: cp, path: "/v1/conventions/draft", ok: 200, organizerOnly: true,
			body: `{"title":"Draft renamed","time_zone":"Europe/Berlin","day_change":"07:00"}`, ctype: js},
		{method: "DELETE", pattern: cp, path: "/v1/conventions/trash", ok: 204, organizerOnly: true},
		{method: "POST", pattern: cp + "/publish", path: "/v1/conventions/draft/publish", ok: 200, organizerOnly: true},
		{method: "POST", pattern: cp + "/unpublish", path: "/v1/conventions/draft/unpublish", ok: 200, organizerOnly: true},
		{method: "POST", pattern: cp + "/schedule", path: c + "/schedule", ok: 200, organizerOnly: true, creates: true, ctype: js, body: "pretalx-rc3.json"},
		{method: "GET", pattern: cp + "/schedule.xml", path: c + "/schedule.xml", ok: 200},
		{method: "GET", pattern: cp + "/schedule.json", path: c + "/schedule.json", ok: 200},
		{method: "GET", pattern: cp + "/schedule.ics", path: c + "/schedule.ics", ok: 200},
		{method: "GET", pattern: cp + "/conflicts", path: c + "/conflicts", ok: 200, organizerOnly: true},
		{method: "GET", pattern: cp + "/rooms", path: c + "/rooms", ok: 200},
		{method: "POST", pattern: cp + "/rooms", path: c + "/rooms", ok: 201, organizerOnly: true, body: `{"name":"Room X","slug":"room-x"}`, ctype: js},
		{method: "GET", pattern: cp + "/rooms/{room}", path: c + "/rooms/" + room, ok: 200},
		{method: "PUT", pattern: cp + "/rooms/{room}", path: c + "/rooms/" + room, ok: 200, organizerOnly: true,
			body: fmt.Sprintf(`{"name":%q,"slug":"renamed"}`, f.room), ctype: js},
		{method: "DELETE", pattern: cp + "/rooms/{room}", path: c + "/rooms/Spare%20Room", ok: 204, organizerOnly: true},
		{method: "GET", pattern: cp + "/tracks", path: c + "/tracks", ok: 200},
		{method: "POST", pattern: cp + "/tracks", path: c + "/tracks", ok: 201, organizerOnly: true, body: `{"name":"Track X"}`, ctype: js},
		{method: "GET", pattern: cp + "/tracks/{track}", path: c + "/tracks/" + track, ok: 200},
		{method: "PUT", pattern: cp + "/tracks/{track}", path: c + "/tracks/" + track, ok: 200, organizerOnly: true,
			body: fmt.Sprintf(`{"name":%q,"color":"#00ff00"}`, f.track), ctype: js},
		{method: "DELETE", pattern: cp + "/tracks/{track}", path: c + "/tracks/Spare%20Track", ok: 204, organizerOnly: true},
		{method: "GET", pattern: cp + "/speakers", path: c + "/speakers", ok: 200},
		{method: "POST", pattern: cp + "/speakers", path: c + "/speakers", ok: 201, organizerOnly: true, body: `{"name":"New Speaker"}`, ctype: js},
		{method: "GET", pattern: cp + "/speakers/{speaker}", path: c + "/speakers/name:spare%20speaker", ok: 200},
		{method: "PUT", pattern: cp + "/speakers/{speaker}", path: c + "/speakers/name:spare%20speaker", ok: 200, organizerOnly: true,
			body: `{"name":"Spare Speaker","biography":"Spares."}`, ctype: js},
		{method: "DELETE", pattern: cp + "/speakers/{speaker}", path: c + "/speakers/name:spare%20speaker", ok: 204, organizerOnly: true},
		{method: "GET", pattern: cp + "/sessions", path: c + "/sessions?day=1&q=a&limit=10", ok: 200},
		{method: "POST", pattern: cp + "/sessions", path: c + "/sessions", ok: 201, organizerOnly: true, ctype: js,
			body: fmt.Sprintf(`{"title":"New talk","start":%q,"duration_minutes":30,"room":%q,"persons":[{"name":"Ada"}]}`, f.start, f.room)},
		{method: "GET", pattern: cp + "/sessions/{guid}", path: c + "/sessions/" + f.guid, ok: 200},
		{method: "PUT", pattern: cp + "/sessions/{guid}", path: c + "/sessions/" + f.guid, ok: 200, organizerOnly: true, ctype: js,
			body: fmt.Sprintf(`{"title":"Moved talk","start":%q,"duration_minutes":45,"room":%q,"track":%q}`, f.start, f.room, f.track)},
		{method: "DELETE", pattern: cp + "/sessions/{guid}", path: c + "/sessions/spare-session", ok: 204, organizerOnly: true},
		{method: "GET", pattern: cp + "/now", path: c + "/now?at=" + url.QueryEscape(f.start), ok: 200},
		{method: "GET", pattern: cp + "/agenda", path: c + "/agenda", ok: 200},
		{method: "PUT", pattern: cp + "/agenda/{guid}", path: c + "/agenda/" + f.guid, ok: 204},
		{method: "DELETE", pattern: cp + "/agenda/{guid}", path: c + "/agenda/" + f.guid, ok: 204},
		{method: "GET", pattern: cp + "/agenda/feed", path: c + "/agenda/feed", ok: 200},
		{method: "POST", pattern: cp + "/agenda/feed", path: c + "/agenda/feed", ok: 200},
		{method: "GET", pattern: "/v1/feeds/{token}", ok: 200},
	}
}

func (rc routeCase) send(t *testing.T, e *env, token string) response {
	t.Helper()
	if rc.pattern == "/v1/feeds/{token}" {
		// Other cases rotate ada's feed (revoking the old URL): get the
		// current one.
		rc.path = feedPath(t, e)
	}
	body := []byte(rc.body)
	if strings.HasSuffix(rc.body, ".json") {
		body = testfiles.Read(t, rc.body)
	}
	return e.do(t, rc.method, rc.path, token, body, rc.ctype)
}

// TestRolesAndTenantIsolation sends every route's request as: nobody (401),
// an attendee of the tenant (403 on organizer routes), an attendee on an
// unpublished convention (404), an organizer of another tenant (404: the
// convention does not exist in their tenant), and finally the organizer
// (success; deletions last).
func TestRolesAndTenantIsolation(t *testing.T) {
	e := newEnv(t, api.Config{})
	f := setupFixture(t, e)
	cases := routeCases(f)

	covered := map[string]bool{}
	for _, rc := range cases {
		covered[rc.method+" "+rc.pattern] = true
	}
	for _, r := range e.h.Routes() {
		require.True(t, covered[r.Pattern()], "route %s has no case in TestRolesAndTenantIsolation", r.Pattern())
	}

	att := e.token(t, tenantA, auth.RoleAttendee, "ada")
	spk := e.token(t, tenantA, auth.RoleModerator, "mod")
	otherOrg := e.token(t, tenantB, auth.RoleOrganizer, "org-b")
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	public := func(rc routeCase) bool { return rc.pattern == "/v1/feeds/{token}" }

	t.Run("no token", func(t *testing.T) {
		for _, rc := range cases {
			if public(rc) {
				continue
			}
			r := rc.send(t, e, "")
			require.Equal(t, http.StatusUnauthorized, r.status, "%s %s: %s", rc.method, rc.path, r.body)
			r = rc.send(t, e, "not-a-token")
			require.Equal(t, http.StatusUnauthorized, r.status, "%s %s: %s", rc.method, rc.path, r.body)
		}
	})
	t.Run("attendee and moderator", func(t *testing.T) {
		for _, rc := range cases {
			if public(rc) {
				continue
			}
			for _, tok := range []string{att, spk} {
				r := rc.send(t, e, tok)
				want := rc.ok
				if rc.organizerOnly {
					want = http.StatusForbidden
				}
				require.Equal(t, want, r.status, "%s %s: %s", rc.method, rc.path, r.body)
			}
		}
	})
	t.Run("attendee on unpublished", func(t *testing.T) {
		for _, rc := range cases {
			if rc.method != "GET" || rc.organizerOnly || !strings.HasPrefix(rc.path, "/v1/conventions/con") {
				continue
			}
			r := e.do(t, "GET", strings.Replace(rc.path, "/conventions/con", "/conventions/draft", 1), att, nil, "")
			require.Equal(t, http.StatusNotFound, r.status, "%s: %s", rc.path, r.body)
		}
	})
	t.Run("other tenant", func(t *testing.T) {
		var creates []routeCase
		for _, rc := range cases {
			if public(rc) {
				continue
			}
			if rc.creates {
				creates = append(creates, rc)
				continue
			}
			r := rc.send(t, e, otherOrg)
			want := http.StatusNotFound
			if rc.pattern == "/v1/conventions" {
				want = http.StatusOK
				require.JSONEq(t, `{"conventions":[]}`, string(r.body), "beta sees none of alpha's conventions")
			}
			require.Equal(t, want, r.status, "%s %s: %s", rc.method, rc.path, r.body)
		}
		// Creating routes make beta's own conventions, leaving alpha's alone.
		for _, rc := range creates {
			r := rc.send(t, e, otherOrg)
			require.Equal(t, rc.ok, r.status, "%s %s: %s", rc.method, rc.path, r.body)
		}
		tt, err := e.cat.Fresh(t.Context(), tenantA, "con")
		require.NoError(t, err)
		require.True(t, tt.Info.Published, "alpha's con untouched")
		tb, err := e.cat.Fresh(t.Context(), tenantB, "con")
		require.NoError(t, err)
		require.False(t, tb.Info.Published, "beta's con is its own")
	})
	t.Run("organizer", func(t *testing.T) {
		// The re-import runs first (it replaces the whole timetable, spares
		// included), deletions last.
		rank := func(rc routeCase) int {
			switch {
			case rc.pattern == "/v1/conventions/{slug}/schedule":
				return 0
			case rc.method == "DELETE" && strings.HasSuffix(rc.pattern, "/sessions/{guid}"):
				return 2 // empties the spare room
			case rc.method == "DELETE":
				return 3
			}
			return 1
		}
		sort.SliceStable(cases, func(i, j int) bool { return rank(cases[i]) < rank(cases[j]) })
		for i, rc := range cases {
			if i == 1 {
				createSpares(t, e, f)
			}
			r := rc.send(t, e, org)
			require.Equal(t, rc.ok, r.status, "%s %s: %s", rc.method, rc.path, r.body)
		}
	})
}
