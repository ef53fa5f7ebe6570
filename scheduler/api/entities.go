package api

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

func isCatalogNotFound(err error) bool {
	var nf *notFound
	return errors.Is(err, catalog.ErrNotFound) && !errors.As(err, &nf)
}

// edit runs a timetable change for an organizer and answers with status and
// the value out returns (computed from the committed timetable).
func (h *Handler) edit(w http.ResponseWriter, r *http.Request, c *auth.Claims, status int,
	fn func(s *schedule.Schedule) error, out func(tt *catalog.Timetable) (any, error)) error {
	if err := organizer(c); err != nil {
		return err
	}
	slug, err := slugOf(r)
	if err != nil {
		return err
	}
	res, err := h.cat.Update(r.Context(), c.Tenant, slug, fn)
	if err != nil {
		return notFoundAs(err, "convention %q", slug)
	}
	if res.Changed {
		h.changed(r.Context(), c.Tenant, slug)
	}
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return nil
	}
	v, err := out(res.Timetable)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// newUUID returns a random (version 4) UUID for rooms and sessions created
// through the API.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// roomList is the body of GET .../rooms.
type roomList struct {
	Rooms []Room `json:"rooms"`
}

// listRooms answers GET .../rooms in display order.
func (h *Handler) listRooms(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	rooms := tt.Schedule().Rooms
	out := roomList{Rooms: make([]Room, len(rooms))}
	for i, rm := range rooms {
		out.Rooms[i] = roomOut(tt, rm)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getRoom answers GET .../rooms/{room}; rooms are named in URLs by name.
func (h *Handler) getRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	room, ok := tt.Room(r.PathValue("room"))
	if !ok {
		return errNotFound("room %q", r.PathValue("room"))
	}
	writeJSON(w, http.StatusOK, roomOut(tt, room))
	return nil
}

// decodeRoom reads a room body; the name is required. A room_id (a client
// sending back what it read) is accepted and ignored: it is derived.
func decodeRoom(r *http.Request) (schedule.Room, error) {
	var in Room
	if err := decodeJSON(r, &in); err != nil {
		return in.Room, err
	}
	room := in.Room
	room.Name = strings.TrimSpace(room.Name)
	if room.Name == "" {
		return room, badRequest("room name is required")
	}
	return room, nil
}

// createRoom answers POST .../rooms (organizer). A room without a guid
// gets a random one, so it can back an SFU room.
func (h *Handler) createRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	room, err := decodeRoom(r)
	if err != nil {
		return err
	}
	if room.GUID == "" {
		room.GUID = newUUID()
	}
	return h.edit(w, r, c, http.StatusCreated, func(s *schedule.Schedule) error {
		if slices.ContainsFunc(s.Rooms, func(x schedule.Room) bool { return x.Name == room.Name }) {
			return fmt.Errorf("room %q: %w", room.Name, catalog.ErrExists)
		}
		s.Rooms = append(s.Rooms, room)
		return nil
	}, func(tt *catalog.Timetable) (any, error) { return roomOut(tt, room), nil })
}

// updateRoom answers PUT .../rooms/{room} (organizer). Renaming a room
// moves its sessions with it in the same commit.
func (h *Handler) updateRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	name := r.PathValue("room")
	room, err := decodeRoom(r)
	if err != nil {
		return err
	}
	return h.edit(w, r, c, http.StatusOK, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Rooms, func(x schedule.Room) bool { return x.Name == name })
		if i < 0 {
			return errNotFound("room %q", name)
		}
		if room.GUID == "" {
			room.GUID = s.Rooms[i].GUID
		}
		s.Rooms[i] = room
		for j := range s.Sessions { // a rename moves the room's sessions with it
			if s.Sessions[j].Room == name {
				s.Sessions[j].Room = room.Name
			}
		}
		return nil
	}, func(tt *catalog.Timetable) (any, error) { return roomOut(tt, room), nil })
}

// deleteRoom answers DELETE .../rooms/{room} (organizer); a room that still
// holds sessions is refused with 409.
func (h *Handler) deleteRoom(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	name := r.PathValue("room")
	return h.edit(w, r, c, http.StatusNoContent, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Rooms, func(x schedule.Room) bool { return x.Name == name })
		if i < 0 {
			return errNotFound("room %q", name)
		}
		if n := countSessions(s, func(ss *schedule.Session) bool { return ss.Room == name }); n > 0 {
			return fmt.Errorf("%w: room %q holds %d sessions; move or delete them first", errInUse, name, n)
		}
		s.Rooms = slices.Delete(s.Rooms, i, i+1)
		return nil
	}, nil)
}

// trackList is the body of GET .../tracks.
type trackList struct {
	Tracks []schedule.Track `json:"tracks"`
}

// listTracks answers GET .../tracks in display order.
func (h *Handler) listTracks(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, trackList{Tracks: nonNil(tt.Schedule().Tracks)})
	return nil
}

// getTrack answers GET .../tracks/{track}.
func (h *Handler) getTrack(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	tr, ok := tt.Track(r.PathValue("track"))
	if !ok {
		return errNotFound("track %q", r.PathValue("track"))
	}
	writeJSON(w, http.StatusOK, tr)
	return nil
}

// decodeTrack reads a track body; the name is required.
func decodeTrack(r *http.Request) (schedule.Track, error) {
	var tr schedule.Track
	if err := decodeJSON(r, &tr); err != nil {
		return tr, err
	}
	tr.Name = strings.TrimSpace(tr.Name)
	if tr.Name == "" {
		return tr, badRequest("track name is required")
	}
	return tr, nil
}

// createTrack answers POST .../tracks (organizer).
func (h *Handler) createTrack(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tr, err := decodeTrack(r)
	if err != nil {
		return err
	}
	return h.edit(w, r, c, http.StatusCreated, func(s *schedule.Schedule) error {
		if slices.ContainsFunc(s.Tracks, func(x schedule.Track) bool { return x.Name == tr.Name }) {
			return fmt.Errorf("track %q: %w", tr.Name, catalog.ErrExists)
		}
		s.Tracks = append(s.Tracks, tr)
		return nil
	}, func(*catalog.Timetable) (any, error) { return tr, nil })
}

// updateTrack answers PUT .../tracks/{track} (organizer); a rename moves
// the track's sessions with it.
func (h *Handler) updateTrack(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	name := r.PathValue("track")
	tr, err := decodeTrack(r)
	if err != nil {
		return err
	}
	return h.edit(w, r, c, http.StatusOK, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Tracks, func(x schedule.Track) bool { return x.Name == name })
		if i < 0 {
			return errNotFound("track %q", name)
		}
		s.Tracks[i] = tr
		for j := range s.Sessions {
			if s.Sessions[j].Track == name {
				s.Sessions[j].Track = tr.Name
			}
		}
		return nil
	}, func(*catalog.Timetable) (any, error) { return tr, nil })
}

// deleteTrack answers DELETE .../tracks/{track} (organizer); 409 while
// sessions are in it.
func (h *Handler) deleteTrack(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	name := r.PathValue("track")
	return h.edit(w, r, c, http.StatusNoContent, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Tracks, func(x schedule.Track) bool { return x.Name == name })
		if i < 0 {
			return errNotFound("track %q", name)
		}
		if n := countSessions(s, func(ss *schedule.Session) bool { return ss.Track == name }); n > 0 {
			return fmt.Errorf("%w: track %q holds %d sessions; move or delete them first", errInUse, name, n)
		}
		s.Tracks = slices.Delete(s.Tracks, i, i+1)
		return nil
	}, nil)
}

// countSessions counts the sessions match accepts.
func countSessions(s *schedule.Schedule, match func(*schedule.Session) bool) int {
	n := 0
	for i := range s.Sessions {
		if match(&s.Sessions[i]) {
			n++
		}
	}
	return n
}

// nonNil turns a nil slice into an empty one, so lists encode as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
