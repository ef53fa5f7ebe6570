package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
)

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), "%s", r.body)
	return v
}

// TestAttendeeViews exercises the FOSDEM timetable through the attendee
// views: by day, room and track, search, now & next.
func TestAttendeeViews(t *testing.T) {
	e := newEnv(t, api.Config{})
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	att := e.token(t, tenantA, auth.RoleAttendee, "ada")
	r := e.do(t, "POST", "/v1/conventions/fosdem/schedule", org, testfiles.Read(t, "fosdem-2026.xml"), "application/xml")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.Equal(t, http.StatusNotFound, e.do(t, "GET", "/v1/conventions/fosdem/sessions", att, nil, "").status, "unpublished")
	require.Equal(t, http.StatusOK, e.do(t, "POST", "/v1/conventions/fosdem/publish", org, nil, "").status)

	type list struct {
		Sessions []api.Session
		Total    int
	}
	all := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?limit=5000", att, nil, ""))
	require.Equal(t, 883, all.Total)
	require.Len(t, all.Sessions, 883)
	for i := 1; i < len(all.Sessions); i++ {
		require.False(t, all.Sessions[i].Start.Before(all.Sessions[i-1].Start), "ordered by start")
	}
	day1 := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?day=1&limit=5000", att, nil, ""))
	day2 := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?day=2&limit=5000", att, nil, ""))
	require.Equal(t, 883, day1.Total+day2.Total)
	_, offset := day1.Sessions[0].Start.Zone()
	require.Equal(t, 3600, offset, "times in the convention's zone (Brussels, winter)")

	room := all.Sessions[0].Room
	byRoom := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?room="+url.QueryEscape(room), att, nil, ""))
	require.NotZero(t, byRoom.Total)
	for _, s := range byRoom.Sessions {
		require.Equal(t, room, s.Room)
	}
	track := all.Sessions[10].Track
	byTrack := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?track="+url.QueryEscape(track), att, nil, ""))
	require.NotZero(t, byTrack.Total)

	// Search by a word of a title and by a speaker's name.
	word := strings.Fields(all.Sessions[100].Title)[0]
	found := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?q="+url.QueryEscape(strings.ToUpper(word)), att, nil, ""))
	require.NotZero(t, found.Total)
	var speaker string
	for _, s := range all.Sessions {
		if len(s.Persons) > 0 {
			speaker = s.Persons[0].Name
			break
		}
	}
	bySpeaker := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?speaker="+url.QueryEscape(speaker), att, nil, ""))
	require.NotZero(t, bySpeaker.Total)
	for _, s := range bySpeaker.Sessions {
		names := ""
		for _, p := range s.Persons {
			names += strings.ToLower(p.Name) + "\n"
		}
		require.Contains(t, names, strings.ToLower(speaker))
	}
	paged := decode[list](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?limit=10&offset=875", att, nil, ""))
	require.Len(t, paged.Sessions, 8)
	require.Equal(t, http.StatusBadRequest, e.do(t, "GET", "/v1/conventions/fosdem/sessions?day=x", att, nil, "").status)

	// Now & next in the middle of a session of the first room.
	s0 := all.Sessions[0]
	at := s0.Start.Add(time.Duration(s0.DurationMinutes) * time.Minute / 2)
	type nn struct {
		At    time.Time
		Rooms []api.NowNextRoom
	}
	got := decode[nn](t, e.do(t, "GET", "/v1/conventions/fosdem/now?at="+url.QueryEscape(at.Format(time.RFC3339))+"&room="+url.QueryEscape(s0.Room), att, nil, ""))
	require.Len(t, got.Rooms, 1)
	require.NotNil(t, got.Rooms[0].Now)
	require.Equal(t, s0.GUID, got.Rooms[0].Now.GUID)
	require.NotNil(t, got.Rooms[0].Next)
	require.True(t, got.Rooms[0].Next.Start.After(at))
	everywhere := decode[nn](t, e.do(t, "GET", "/v1/conventions/fosdem/now?at="+url.QueryEscape(at.Format(time.RFC3339)), att, nil, ""))
	require.Greater(t, len(everywhere.Rooms), 1)
}

// TestAgendaFeed stars sessions and reads them back through the private
// iCal feed, which works without a bearer token, breaks when tampered with,
// stops when rotated, and disappears when the convention is unpublished.
func TestAgendaFeed(t *testing.T) {
	e := newEnv(t, api.Config{PublicURL: "https://con.example/"})
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	ada := e.token(t, tenantA, auth.RoleAttendee, "ada")
	bob := e.token(t, tenantA, auth.RoleAttendee, "bob")
	require.Equal(t, http.StatusOK, e.do(t, "POST", "/v1/conventions/rc3/schedule", org, testfiles.Read(t, "pretalx-rc3.json"), "application/json").status)
	require.Equal(t, http.StatusOK, e.do(t, "POST", "/v1/conventions/rc3/publish", org, nil, "").status)
	tt, err := e.cat.Fresh(t.Context(), tenantA, "rc3")
	require.NoError(t, err)
	ss := tt.Schedule().Sessions
	starred := []string{ss[5].GUID, ss[1].GUID}
	for _, g := range starred {
		require.Equal(t, http.StatusNoContent, e.do(t, "PUT", "/v1/conventions/rc3/agenda/"+g, ada, nil, "").status)
	}
	require.Equal(t, http.StatusNoContent, e.do(t, "PUT", "/v1/conventions/rc3/agenda/"+ss[9].GUID, bob, nil, "").status)
	require.Equal(t, http.StatusNotFound, e.do(t, "PUT", "/v1/conventions/rc3/agenda/nope", ada, nil, "").status)

	type list struct{ Sessions []api.Session }
	agenda := decode[list](t, e.do(t, "GET", "/v1/conventions/rc3/agenda", ada, nil, ""))
	require.Len(t, agenda.Sessions, 2)

	link := decode[struct{ URL string }](t, e.do(t, "GET", "/v1/conventions/rc3/agenda/feed", ada, nil, ""))
	require.True(t, strings.HasPrefix(link.URL, "https://con.example/v1/feeds/"), link.URL)
	require.True(t, strings.HasSuffix(link.URL, ".ics"))
	path := strings.TrimPrefix(link.URL, "https://con.example")
	r := e.do(t, "GET", path, "", nil, "")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/calendar"))
	cal := string(r.body)
	require.Equal(t, 2, strings.Count(cal, "BEGIN:VEVENT"))
	for _, g := range starred {
		require.Contains(t, cal, "UID:"+g)
	}
	require.NotContains(t, cal, "UID:"+ss[9].GUID, "bob's star is not in ada's feed")

	// Tampering: another user's name in the payload, a flipped signature.
	tok := strings.TrimSuffix(strings.TrimPrefix(path, "/v1/feeds/"), ".ics")
	payload, sig, _ := strings.Cut(tok, ".")
	flipped := sig[:len(sig)-2] + map[bool]string{true: "AA", false: "BA"}[sig[len(sig)-2:] != "AA"]
	for _, bad := range []string{payload + "." + flipped, "x" + tok, tok + "x", "garbage", strings.Repeat("a", 2000)} {
		require.Equal(t, http.StatusNotFound, e.do(t, "GET", "/v1/feeds/"+bad+".ics", "", nil, "").status, bad)
	}

	// Rotation revokes the old URL.
	rotated := decode[struct{ URL string }](t, e.do(t, "POST", "/v1/conventions/rc3/agenda/feed", ada, nil, ""))
	require.NotEqual(t, link.URL, rotated.URL)
	require.Equal(t, http.StatusNotFound, e.do(t, "GET", path, "", nil, "").status)
	newPath := strings.TrimPrefix(rotated.URL, "https://con.example")
	require.Equal(t, http.StatusOK, e.do(t, "GET", newPath, "", nil, "").status)

	// Unpublished conventions serve no feed.
	require.Equal(t, http.StatusOK, e.do(t, "POST", "/v1/conventions/rc3/unpublish", org, nil, "").status)
	require.Equal(t, http.StatusNotFound, e.do(t, "GET", newPath, "", nil, "").status)
}
