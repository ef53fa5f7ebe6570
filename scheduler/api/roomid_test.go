package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/internal/testfiles"
)

// liveRoom is the gateway's room-name syntax (docs/protocol.md).
var liveRoom = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// TestRoomIDExposed: rooms and sessions carry the live room ID, the same
// for a room and its sessions, through every view, and a rename through
// the API keeps it (the guid is kept); a client sending room_id back is not
// refused.
func TestRoomIDExposed(t *testing.T) {
	e := newEnv(t, api.Config{})
	org := e.token(t, tenantA, auth.RoleOrganizer, "org")
	r := e.do(t, "POST", "/v1/conventions/fosdem/schedule", org, testfiles.Read(t, "fosdem-2026.xml"), "application/xml")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)

	rooms := decode[struct{ Rooms []api.Room }](t, e.do(t, "GET", "/v1/conventions/fosdem/rooms", org, nil, ""))
	require.NotEmpty(t, rooms.Rooms)
	ids := map[string]string{}
	for _, rm := range rooms.Rooms {
		require.Regexp(t, liveRoom, rm.RoomID, rm.Name)
		require.Equal(t, rm.GUID, rm.RoomID, "derived guids are UUIDs, hence their own room IDs")
		ids[rm.Name] = rm.RoomID
	}
	sessions := decode[struct{ Sessions []api.Session }](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions?limit=50", org, nil, ""))
	for _, s := range sessions.Sessions {
		require.Equal(t, ids[s.Room], s.RoomID, "session %s", s.GUID)
	}
	first := sessions.Sessions[0]
	one := decode[api.Session](t, e.do(t, "GET", "/v1/conventions/fosdem/sessions/"+first.GUID, org, nil, ""))
	require.Equal(t, first.RoomID, one.RoomID)
	nn := decode[struct{ Rooms []api.NowNextRoom }](t, e.do(t, "GET",
		"/v1/conventions/fosdem/now?at="+url.QueryEscape(first.Start.Format("2006-01-02T15:04:05Z07:00")), org, nil, ""))
	require.NotEmpty(t, nn.Rooms)
	for _, x := range nn.Rooms {
		require.Equal(t, ids[x.Room.Name], x.Room.RoomID)
	}

	// Rename, sending back what was read (room_id included): same live room.
	old := rooms.Rooms[0]
	body := []byte(`{"name":"Renamed","guid":"` + old.GUID + `","room_id":"ignored"}`)
	r = e.do(t, "PUT", "/v1/conventions/fosdem/rooms/"+url.PathEscape(old.Name), org, body, "application/json")
	require.Equal(t, http.StatusOK, r.status, "%s", r.body)
	renamed := decode[api.Room](t, r)
	require.Equal(t, old.RoomID, renamed.RoomID)
	got := decode[api.Room](t, e.do(t, "GET", "/v1/conventions/fosdem/rooms/Renamed", org, nil, ""))
	require.Equal(t, old.RoomID, got.RoomID)

	// A new room without guid gets a random UUID, hence a room ID.
	r = e.do(t, "POST", "/v1/conventions/fosdem/rooms", org, []byte(`{"name":"Hall X"}`), "application/json")
	require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
	created := decode[api.Room](t, r)
	require.Regexp(t, liveRoom, created.RoomID)
	require.Equal(t, created.GUID, created.RoomID)
}
