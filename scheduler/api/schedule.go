package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// importSchedule imports or re-imports a schedule file: the body is the
// file, its format detected or named by ?format=. The whole file is parsed
// and validated before anything is written; the catalog then commits it as
// one new version (or nothing, when it equals the current one).
func (h *Handler) importSchedule(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
	if err := organizer(c); err != nil {
		return err
	}
	slug, err := slugOf(r)
	if err != nil {
		return err
	}
	format, err := schedule.ParseFormat(r.URL.Query().Get("format"))
	if err != nil {
		return err
	}
	if format == schedule.FormatICal {
		return fmt.Errorf("%w: iCalendar can be exported, not imported", schedule.ErrUnsupported)
	}
	if r.ContentLength > h.cfg.Limits.MaxBytes {
		return fmt.Errorf("%w: %d bytes exceed the limit of %d", schedule.ErrTooLarge, r.ContentLength, h.cfg.Limits.MaxBytes)
	}
	body := http.MaxBytesReader(w, r.Body, h.cfg.Limits.MaxBytes+1)
	s, err := h.cfg.Limits.Import(body, format)
	if err != nil {
		return err
	}
	res, err := h.cat.Import(r.Context(), c.Tenant, slug, s)
	if err != nil {
		return err
	}
	if res.Changed {
		h.changed(r.Context(), c.Tenant, slug)
	}
	sum := s.Summary()
	writeJSON(w, http.StatusOK, ImportSummary{
		Days: sum.Days, Rooms: sum.Rooms, Events: sum.Events,
		Created: res.Diff.Created, Updated: res.Diff.Updated, Unchanged: res.Diff.Unchanged, Deleted: res.Diff.Deleted,
		Conflicts: nonNil(s.Conflicts()),
	})
	return nil
}

// exportSchedule serves the timetable as frab XML, c3voc JSON or iCalendar.
// The ETag follows the timetable version, so calendar clients revalidate
// cheaply (304).
func (h *Handler) exportSchedule(f schedule.Format) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *auth.Claims) error {
		tt, err := h.timetable(r, c)
		if err != nil {
			return err
		}
		etag := strconv.Quote(tt.Info.ETag + "-" + f.String())
		w.Header().Set("ETag", etag)
		w.Header().Set("Cache-Control", "private, no-cache")
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		return writeExport(w, tt.Schedule(), f, tt)
	}
}

// writeExport renders s in format f into memory first, so that an export
// error is still answered as JSON rather than a truncated body.
func writeExport(w http.ResponseWriter, s *schedule.Schedule, f schedule.Format, tt *catalog.Timetable) error {
	var buf bytes.Buffer
	var err error
	if f == schedule.FormatICal {
		err = schedule.ExportICal(&buf, s, tt.Info.Updated)
	} else {
		err = schedule.Export(&buf, s, f)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
	return nil
}
