package catalog_test

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// liveRoom is the room-name syntax of the gateway (docs/protocol.md).
var liveRoom = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func TestRoomID(t *testing.T) {
	for _, tc := range []struct {
		name string
		room schedule.Room
		want string // "" : hashed, checked for syntax and stability only
	}{
		{"uuid guid is the id", schedule.Room{Name: "Janson", GUID: "ba692ba3-421b-5371-8309-60acc34a3c05"}, "ba692ba3-421b-5371-8309-60acc34a3c05"},
		{"room-name-safe guid is the id", schedule.Room{Name: "Room 00", GUID: "room-00"}, "room-00"},
		{"guid with a space is hashed", schedule.Room{Name: "A", GUID: "room 1"}, ""},
		{"guid too long is hashed", schedule.Room{Name: "A", GUID: string(make([]byte, 65))}, ""},
		{"no guid: hash of the name", schedule.Room{Name: "K.1.105 (La Fontaine)"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := catalog.RoomID(tc.room)
			require.Regexp(t, liveRoom, id)
			if tc.want != "" {
				require.Equal(t, tc.want, id)
			} else {
				require.Len(t, id, 34)
				require.Equal(t, id, catalog.RoomID(tc.room), "stable")
			}
		})
	}
	require.NotEqual(t, catalog.RoomID(schedule.Room{Name: "x", GUID: "a b"}), catalog.RoomID(schedule.Room{Name: "a b"}),
		"a name and a guid with the same text are different sources")
}

// TestTimetableRoomIDs: every room of a real file gets a distinct live room
// ID, the one RoomID gives; a re-import keeps them, and rooms sharing a
// GUID do not share a live room.
func TestTimetableRoomIDs(t *testing.T) {
	ctx := context.Background()
	c := newCatalog(t, nil)
	s := parse(t, "fosdem-2026.xml", schedule.FormatFrabXML)
	_, err := c.Import(ctx, tenantA, "fosdem", s)
	require.NoError(t, err)
	tt, err := c.Timetable(ctx, tenantA, "fosdem")
	require.NoError(t, err)
	seen := map[string]string{}
	for _, r := range tt.Schedule().Rooms {
		id, ok := tt.RoomID(r.Name)
		require.True(t, ok, r.Name)
		require.Equal(t, catalog.RoomID(r), id)
		require.Regexp(t, liveRoom, id)
		require.Empty(t, seen[id], "%s and %s share %s", seen[id], r.Name, id)
		seen[id] = r.Name
	}
	_, ok := tt.RoomID("no such room")
	require.False(t, ok)

	dup := &schedule.Schedule{Convention: s.Convention, Rooms: []schedule.Room{
		{Name: "A", GUID: "same"}, {Name: "B", GUID: "same"},
	}}
	_, err = c.Import(ctx, tenantA, "dup", dup)
	require.NoError(t, err)
	tt, err = c.Timetable(ctx, tenantA, "dup")
	require.NoError(t, err)
	a, _ := tt.RoomID("A")
	b, _ := tt.RoomID("B")
	require.Equal(t, "same", a, "the first room keeps the guid")
	require.NotEqual(t, a, b)
	require.Regexp(t, liveRoom, b)
}
