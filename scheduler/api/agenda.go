package api

import (
	"net/http"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// agendaSessions returns the bearer's starred sessions that still exist,
// ordered by start.
func (h *Handler) agendaSessions(r *http.Request, t tenant.ID, tt *catalog.Timetable, user string) ([]*schedule.Session, error) {
	guids, err := h.cat.Agenda(r.Context(), t, tt.Info.Convention.Slug, user)
	if err != nil {
		return nil, err
	}
	return tt.Sessions(catalog.Query{GUIDs: nonNil(guids)}), nil
}

// getAgenda answers GET .../agenda with the bearer's starred sessions.
func (h *Handler) getAgenda(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	ss, err := h.agendaSessions(r, c.Tenant, tt, c.Subject)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessionList{Sessions: sessionsOut(tt, ss, location(tt)), Total: len(ss)})
	return nil
}

// star answers PUT .../agenda/{guid}: idempotent, for any role that may
// read the convention.
func (h *Handler) star(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	guid := r.PathValue("guid")
	if _, ok := tt.Session(guid); !ok {
		return errNotFound("session %q", guid)
	}
	if err := h.cat.Star(r.Context(), c.Tenant, tt.Info.Convention.Slug, c.Subject, guid); err != nil {
		return notFoundAs(err, "session %q", guid)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unstar answers DELETE .../agenda/{guid}; idempotent.
func (h *Handler) unstar(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	if err := h.cat.Unstar(r.Context(), c.Tenant, tt.Info.Convention.Slug, c.Subject, r.PathValue("guid")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// feedLink is the body of GET/POST .../agenda/feed.
type feedLink struct {
	// URL is the private iCal feed of the bearer's agenda. Anyone holding it
	// can read the agenda: treat it as a password.
	URL string `json:"url"`
}

// feedURL returns the bearer's private feed URL; rotate (POST) revokes the
// previous one.
func (h *Handler) feedURL(rotate bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
		tt, err := h.timetable(r, c)
		if err != nil {
			return err
		}
		slug := tt.Info.Convention.Slug
		secret, err := h.cat.FeedSecret(r.Context(), c.Tenant, true)
		if err != nil {
			return err
		}
		nonce, err := h.cat.FeedNonce(r.Context(), c.Tenant, slug, c.Subject, true, rotate)
		if err != nil {
			return err
		}
		tok, err := signFeed(secret, feedClaims{Tenant: string(c.Tenant), Convention: slug, User: c.Subject, Nonce: nonce})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, feedLink{URL: h.baseURL(r) + "/v1/feeds/" + tok + ".ics"})
		return nil
	}
}

// feed serves a private agenda feed. Every failure is the same 404, so the
// endpoint does not tell which part of a token was wrong.
func (h *Handler) feed(w http.ResponseWriter, r *http.Request) {
	if err := h.serveFeed(w, r); err != nil {
		status, body := classify(err)
		if status == http.StatusNotFound || status == http.StatusBadRequest {
			status, body = http.StatusNotFound, Error{Code: CodeNotFound, Message: "feed not found"}
		}
		if status >= 500 {
			h.log.Warn("feed request failed", "status", status, "err", err)
		}
		writeJSON(w, status, errorBody{Error: body})
	}
}

// serveFeed verifies the token (shape, tenant secret, HMAC, current nonce,
// published convention) and writes the agenda as iCalendar.
func (h *Handler) serveFeed(w http.ResponseWriter, r *http.Request) error {
	gone := errNotFound("feed")
	fc, payload, mac, err := parseFeed(strings.TrimSuffix(r.PathValue("token"), ".ics"))
	if err != nil {
		return gone
	}
	t, err := tenant.Parse(fc.Tenant)
	if err != nil || catalog.ValidSlug(fc.Convention) != nil {
		return gone
	}
	secret, err := h.cat.FeedSecret(r.Context(), t, false)
	if err != nil {
		return notFoundAs(err, "feed")
	}
	if !verifyFeed(secret, payload, mac) {
		return gone
	}
	nonce, err := h.cat.FeedNonce(r.Context(), t, fc.Convention, fc.User, false, false)
	if err != nil {
		return notFoundAs(err, "feed")
	}
	if nonce != fc.Nonce {
		return gone // rotated: revoked
	}
	tt, err := h.cat.Timetable(r.Context(), t, fc.Convention)
	if err != nil {
		return notFoundAs(err, "feed")
	}
	if !tt.Info.Published {
		return gone
	}
	ss, err := h.agendaSessions(r, t, tt, fc.User)
	if err != nil {
		return err
	}
	full := tt.Schedule()
	sub := &schedule.Schedule{Convention: full.Convention, Rooms: full.Rooms, Tracks: full.Tracks, Speakers: full.Speakers}
	sub.Convention.Title += " — my agenda"
	for _, s := range ss {
		sub.Sessions = append(sub.Sessions, *s)
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	return writeExport(w, sub, schedule.FormatICal, tt)
}
