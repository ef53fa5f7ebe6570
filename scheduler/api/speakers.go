package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// speakerList is the body of GET .../speakers.
type speakerList struct {
	Speakers []Speaker `json:"speakers"`
}

// speakerOut adds the key a speaker is addressed by in URLs.
func speakerOut(sp schedule.Speaker) Speaker { return Speaker{Key: sp.Key(), Speaker: sp} }

// listSpeakers answers GET .../speakers.
func (h *Handler) listSpeakers(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	sps := tt.Schedule().Speakers
	out := speakerList{Speakers: make([]Speaker, len(sps))}
	for i, sp := range sps {
		out.Speakers[i] = speakerOut(sp)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getSpeaker answers GET .../speakers/{speaker}, the key being
// schedule.Speaker.Key ("guid:…", "id:…" or "name:…").
func (h *Handler) getSpeaker(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	sp, ok := tt.Speaker(r.PathValue("speaker"))
	if !ok {
		return errNotFound("speaker %q", r.PathValue("speaker"))
	}
	writeJSON(w, http.StatusOK, speakerOut(sp))
	return nil
}

// decodeSpeaker reads a speaker body; the name is required.
func decodeSpeaker(r *http.Request) (schedule.Speaker, error) {
	var sp schedule.Speaker
	if err := decodeJSON(r, &sp); err != nil {
		return sp, err
	}
	sp.Name = strings.TrimSpace(sp.Name)
	if sp.Name == "" {
		return sp, badRequest("speaker name is required")
	}
	return sp, nil
}

// createSpeaker answers POST .../speakers (organizer); 409 if a speaker
// with the same key exists.
func (h *Handler) createSpeaker(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	sp, err := decodeSpeaker(r)
	if err != nil {
		return err
	}
	return h.edit(w, r, c, http.StatusCreated, func(s *schedule.Schedule) error {
		if slices.ContainsFunc(s.Speakers, func(x schedule.Speaker) bool { return x.Key() == sp.Key() }) {
			return fmt.Errorf("speaker %q: %w", sp.Key(), catalog.ErrExists)
		}
		s.Speakers = append(s.Speakers, sp)
		return nil
	}, func(*catalog.Timetable) (any, error) { return speakerOut(sp), nil })
}

// updateSpeaker answers PUT .../speakers/{speaker} (organizer). The body
// must identify the same speaker: keys are identities, not labels.
func (h *Handler) updateSpeaker(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	key := r.PathValue("speaker")
	sp, err := decodeSpeaker(r)
	if err != nil {
		return err
	}
	if sp.Key() != key {
		return badRequest("the body identifies speaker %q, the URL %q: guid, id and name-based keys cannot change", sp.Key(), key)
	}
	return h.edit(w, r, c, http.StatusOK, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Speakers, func(x schedule.Speaker) bool { return x.Key() == key })
		if i < 0 {
			return errNotFound("speaker %q", key)
		}
		s.Speakers[i] = sp
		return nil
	}, func(*catalog.Timetable) (any, error) { return speakerOut(sp), nil })
}

// deleteSpeaker removes the speaker's profile; sessions keep naming them.
func (h *Handler) deleteSpeaker(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	key := r.PathValue("speaker")
	return h.edit(w, r, c, http.StatusNoContent, func(s *schedule.Schedule) error {
		i := slices.IndexFunc(s.Speakers, func(x schedule.Speaker) bool { return x.Key() == key })
		if i < 0 {
			return errNotFound("speaker %q", key)
		}
		s.Speakers = slices.Delete(s.Speakers, i, i+1)
		return nil
	}, nil)
}
