package catalog

import (
	"context"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Import replaces the convention's timetable with s, matching sessions by
// guid, and creates the convention from s's metadata if it does not exist.
// The convention keeps slug (s.Convention.Slug is ignored) and its published
// flag. s must be a complete, valid import (schedule.Import's result); it is
// checked again before anything is written, and nothing is written when it
// equals the current timetable (Changed false, every session unchanged).
func (c *Catalog) Import(ctx context.Context, t tenant.ID, slug string, s *schedule.Schedule) (CommitResult, error) {
	if err := ValidSlug(slug); err != nil {
		return CommitResult{}, err
	}
	conv := s.Convention
	conv.Slug = slug
	return c.commit(ctx, t, slug, &conv, func(*Timetable) (*schedule.Schedule, error) {
		next := *s
		next.Convention.Slug = slug
		return &next, nil
	})
}

// Update applies fn to a copy of the convention's timetable and commits the
// result. fn returns an error (wrapping ErrNotFound, ErrExists or
// ErrInvalid) to refuse the change; it must replace, not modify in place,
// the nested slices of the values it changes.
func (c *Catalog) Update(ctx context.Context, t tenant.ID, slug string, fn func(s *schedule.Schedule) error) (CommitResult, error) {
	return c.commit(ctx, t, slug, nil, func(cur *Timetable) (*schedule.Schedule, error) {
		next := cur.Clone()
		if err := fn(next); err != nil {
			return nil, err
		}
		return next, nil
	})
}
