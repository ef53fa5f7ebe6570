package api

import (
	"net/http"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// conventionList is the body of GET /v1/conventions.
type conventionList struct {
	Conventions []Convention `json:"conventions"`
}

// listConventions answers GET /v1/conventions: every convention of the
// bearer's tenant for organizers, the published ones for everyone else.
func (h *Handler) listConventions(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	infos, err := h.cat.ListConventions(r.Context(), c.Tenant, organizer(c) != nil)
	if err != nil {
		return err
	}
	out := conventionList{Conventions: make([]Convention, len(infos))}
	for i, info := range infos {
		out.Conventions[i] = conventionOut(info)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createConvention answers POST /v1/conventions (organizer): an empty
// convention whose days come from the start and end dates, if given.
func (h *Handler) createConvention(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	if err := organizer(c); err != nil {
		return err
	}
	var in ConventionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := catalog.ValidSlug(in.Slug); err != nil {
		return badRequest("slug: %v", err)
	}
	conv := schedule.Convention{Slug: in.Slug}
	if err := in.apply(&conv); err != nil {
		return err
	}
	info, err := h.cat.CreateConvention(r.Context(), c.Tenant, conv)
	if err != nil {
		return err
	}
	h.changed(r.Context(), c.Tenant, in.Slug)
	w.Header().Set("Location", "/v1/conventions/"+in.Slug)
	writeJSON(w, http.StatusCreated, conventionOut(info))
	return nil
}

// getConvention answers GET /v1/conventions/{slug}.
func (h *Handler) getConvention(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	tt, err := h.timetable(r, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conventionOut(tt.Info))
	return nil
}

// updateConvention answers PUT /v1/conventions/{slug} (organizer): the
// metadata is replaced as a commit; the slug cannot change.
func (h *Handler) updateConvention(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	if err := organizer(c); err != nil {
		return err
	}
	slug, err := slugOf(r)
	if err != nil {
		return err
	}
	var in ConventionInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.Slug != "" && in.Slug != slug {
		return badRequest("slug cannot be changed (body %q, URL %q)", in.Slug, slug)
	}
	info, err := h.cat.UpdateConvention(r.Context(), c.Tenant, slug, func(conv *schedule.Convention) error {
		return in.apply(conv)
	})
	if err != nil {
		return notFoundAs(err, "convention %q", slug)
	}
	h.changed(r.Context(), c.Tenant, slug)
	writeJSON(w, http.StatusOK, conventionOut(info))
	return nil
}

// deleteConvention answers DELETE /v1/conventions/{slug} (organizer). Its
// pending timed actions become stale and fire nothing.
func (h *Handler) deleteConvention(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	if err := organizer(c); err != nil {
		return err
	}
	slug, err := slugOf(r)
	if err != nil {
		return err
	}
	if err := h.cat.DeleteConvention(r.Context(), c.Tenant, slug); err != nil {
		return notFoundAs(err, "convention %q", slug)
	}
	h.changed(r.Context(), c.Tenant, slug)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// publish answers POST .../publish and .../unpublish (organizer). Only
// published conventions are visible to attendees and run timed actions.
func (h *Handler) publish(published bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
		if err := organizer(c); err != nil {
			return err
		}
		slug, err := slugOf(r)
		if err != nil {
			return err
		}
		info, err := h.cat.SetPublished(r.Context(), c.Tenant, slug, published)
		if err != nil {
			return notFoundAs(err, "convention %q", slug)
		}
		h.changed(r.Context(), c.Tenant, slug)
		writeJSON(w, http.StatusOK, conventionOut(info))
		return nil
	}
}

// notFoundAs replaces a catalog not-found error by a client-safe one naming
// the missing thing; other errors pass through.
func notFoundAs(err error, format string, args ...any) error {
	if isCatalogNotFound(err) {
		return errNotFound(format, args...)
	}
	return err
}
