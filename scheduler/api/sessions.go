package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Paging limits of session lists.
const (
	defaultLimit = 500
	maxLimit     = 5000
)

// sessionList is the body of GET .../sessions and .../agenda.
type sessionList struct {
	Sessions []Session `json:"sessions"`
	// Total is the number of matches before paging.
	Total int `json:"total"`
}

// listSessions is the attendee view by day, room and track and the search
// by title or speaker, all as query parameters.
func (h *Handler) listSessions(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	v := r.URL.Query()
	q := catalog.Query{Room: v.Get("room"), Track: v.Get("track"), Speaker: v.Get("speaker"), Text: v.Get("q")}
	if q.Day, err = intParam(v.Get("day"), 0, 0, 10000); err != nil {
		return badRequest("day: %v", err)
	}
	if q.From, err = timeParam(v.Get("from")); err != nil {
		return badRequest("from: %v", err)
	}
	if q.To, err = timeParam(v.Get("to")); err != nil {
		return badRequest("to: %v", err)
	}
	limit, err := intParam(v.Get("limit"), defaultLimit, 1, maxLimit)
	if err != nil {
		return badRequest("limit: %v", err)
	}
	offset, err := intParam(v.Get("offset"), 0, 0, 1<<30)
	if err != nil {
		return badRequest("offset: %v", err)
	}
	all := tt.Sessions(q)
	page := all[min(offset, len(all)):min(offset+limit, len(all))]
	writeJSON(w, http.StatusOK, sessionList{Sessions: sessionsOut(tt, page, location(tt)), Total: len(all)})
	return nil
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not an integer in %d..%d", s, lo, hi)
	}
	return n, nil
}

// timeParam parses an optional RFC 3339 query parameter.
func timeParam(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time", s)
	}
	return t, nil
}

// getSession answers GET .../sessions/{guid}.
func (h *Handler) getSession(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	s, ok := tt.Session(r.PathValue("guid"))
	if !ok {
		return errNotFound("session %q", r.PathValue("guid"))
	}
	writeJSON(w, http.StatusOK, sessionOut(tt, s, location(tt)))
	return nil
}

// sessionResult answers with the committed session guid.
func sessionResult(guid string) func(tt *catalog.Timetable) (any, error) {
	return func(tt *catalog.Timetable) (any, error) {
		s, ok := tt.Session(guid)
		if !ok {
			return nil, errNotFound("session %q", guid)
		}
		return sessionOut(tt, s, location(tt)), nil
	}
}

// createSession answers POST .../sessions (organizer). The session must be
// in an existing room (and track, if any); the commit validates it.
func (h *Handler) createSession(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	var in SessionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.GUID == "" {
		in.GUID = newUUID()
	}
	return h.edit(w, r, c, http.StatusCreated, func(s *schedule.Schedule) error {
		if slices.ContainsFunc(s.Sessions, func(x schedule.Session) bool { return x.GUID == in.GUID }) {
			return fmt.Errorf("session %q: %w", in.GUID, catalog.ErrExists)
		}
		ss := schedule.Session{GUID: in.GUID}
		if err := in.apply(&ss, &s.Convention); err != nil {
			return err
		}
		s.Sessions = append(s.Sessions, ss)
		return nil
	}, sessionResult(in.GUID))
}

// updateSession answers PUT .../sessions/{guid} (organizer). Moving a
// session re-plans its timed actions: the old jobs become stale.
func (h *Handler) updateSession(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	guid := r.PathValue("guid")
	var in SessionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.GUID != "" && in.GUID != guid {
		return badRequest("guid cannot be changed (body %q, URL %q)", in.GUID, guid)
	}
	return h.edit(w, r, c, http.StatusOK, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Sessions, func(x schedule.Session) bool { return x.GUID == guid })
		if i < 0 {
			return errNotFound("session %q", guid)
		}
		return in.apply(&s.Sessions[i], &s.Convention)
	}, sessionResult(guid))
}

// deleteSession answers DELETE .../sessions/{guid} (organizer): the
// session is cancelled and its pending actions fire nothing.
func (h *Handler) deleteSession(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	guid := r.PathValue("guid")
	return h.edit(w, r, c, http.StatusNoContent, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Sessions, func(x schedule.Session) bool { return x.GUID == guid })
		if i < 0 {
			return errNotFound("session %q", guid)
		}
		s.Sessions = slices.Delete(s.Sessions, i, i+1)
		return nil
	}, nil)
}

// nowNextBody is the body of GET .../now.
type nowNextBody struct {
	At    time.Time     `json:"at"`
	Rooms []NowNextRoom `json:"rooms"`
}

// nowNext answers what is on in every room now and what comes next.
func (h *Handler) nowNext(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	at, err := timeParam(r.URL.Query().Get("at"))
	if err != nil {
		return badRequest("at: %v", err)
	}
	if at.IsZero() {
		at = h.cfg.Now()
	}
	loc := location(tt)
	nn := tt.NowNext(at, r.URL.Query().Get("room"))
	out := nowNextBody{At: at.In(loc), Rooms: make([]NowNextRoom, len(nn))}
	for i, x := range nn {
		out.Rooms[i].Room = roomOut(tt, x.Room)
		if x.Now != nil {
			s := sessionOut(tt, x.Now, loc)
			out.Rooms[i].Now = &s
		}
		if x.Next != nil {
			s := sessionOut(tt, x.Next, loc)
			out.Rooms[i].Next = &s
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// conflictList is the body of GET .../conflicts.
type conflictList struct {
	Conflicts []schedule.Conflict `json:"conflicts"`
}

// conflicts answers GET .../conflicts (organizer) with the timetable's
// double bookings and out-of-day sessions.
func (h *Handler) conflicts(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	if err := organizer(c); err != nil {
		return err
	}
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conflictList{Conflicts: nonNil(tt.Schedule().Conflicts())})
	return nil
}
