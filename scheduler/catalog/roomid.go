package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"

	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// roomIDPattern is the syntax of live room names: the signaling gateway's
// room names, which are also SFU room IDs, bus channel parts and the
// {room} segment of the live page URL /t/{tenant}/live/{room}.
var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// RoomID returns the live room ID of a schedule room: the string the web
// app puts in /t/{tenant}/live/{room}, the gateway joins, the SFU names its
// room by and the recorder records. It is the room's GUID when the GUID is
// already a valid room name (every UUID is, and the importer gives every
// room one: from the file, or derived from the convention slug and the
// room name), else "r-" and 32 hex digits of the SHA-256 of the GUID (of the
// name for a room without GUID).
//
// The identity is the GUID, not the name, because the GUID is what stays
// when a room is renamed (a file that carries room GUIDs, or an API rename
// that keeps the GUID), and because derived GUIDs include the convention
// slug: "Janson" of fosdem-2025 and of fosdem-2026 are two live rooms with
// two chat histories. It is a pure function, so every component derives
// the same ID; Timetable.RoomID also separates the rare rooms of one
// convention that share a GUID.
func RoomID(r schedule.Room) string {
	if roomIDPattern.MatchString(r.GUID) {
		return r.GUID
	}
	if r.GUID == "" {
		return hashedRoomID("name\x00" + r.Name)
	}
	return hashedRoomID("guid\x00" + r.GUID)
}

// hashedRoomID is the room ID of a source that is no valid room name.
func hashedRoomID(src string) string {
	sum := sha256.Sum256([]byte(src))
	return "r-" + hex.EncodeToString(sum[:16])
}

// roomIDs maps every room name of s to its live room ID. Two rooms whose
// GUIDs collide (a malformed file) must not share a stage: the first in
// display order keeps RoomID, the others get a hash of GUID and name.
func roomIDs(s *schedule.Schedule) map[string]string {
	out := make(map[string]string, len(s.Rooms))
	used := make(map[string]bool, len(s.Rooms))
	for _, r := range s.Rooms {
		id := RoomID(r)
		if used[id] {
			id = hashedRoomID("dup\x00" + r.GUID + "\x00" + r.Name)
		}
		used[id] = true
		out[r.Name] = id
	}
	return out
}

// RoomID returns the live room ID (see the package function RoomID) of the
// room called name, and false when the timetable has no such room.
func (tt *Timetable) RoomID(name string) (string, bool) {
	id, ok := tt.roomIDs[name]
	return id, ok
}
