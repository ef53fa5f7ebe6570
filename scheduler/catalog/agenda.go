package catalog

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// MaxStars bounds one attendee's personal agenda in one convention.
const MaxStars = 2000

// Star adds a session to an attendee's personal agenda. Starring a session
// twice is not an error. Each star is its own document inserted under a
// unique (conv, user, guid) index, so concurrent stars from several tabs
// never lose one another (no read-modify-write).
func (c *Catalog) Star(ctx context.Context, t tenant.ID, slug, user, guid string) error {
	tt, err := c.Timetable(ctx, t, slug)
	if err != nil {
		return err
	}
	if _, ok := tt.Session(guid); !ok {
		return fmt.Errorf("session %q: %w", guid, ErrNotFound)
	}
	n, err := c.stars.Tenant(t).Count(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "user", Value: user}})
	if err != nil {
		return wrapStore("count stars", err)
	}
	if n >= MaxStars {
		return fmt.Errorf("%w: personal agenda holds at most %d sessions", ErrInvalid, MaxStars)
	}
	err = c.stars.Tenant(t).InsertOne(ctx, starDoc{Conv: slug, User: user, GUID: guid, At: c.now()})
	if err = wrapStore("star", err); errors.Is(err, ErrExists) {
		return nil
	}
	return err
}

// Unstar removes a session from an attendee's agenda; removing one that is
// not there is not an error.
func (c *Catalog) Unstar(ctx context.Context, t tenant.ID, slug, user, guid string) error {
	_, err := c.stars.Tenant(t).DeleteOne(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "user", Value: user}, {Key: "guid", Value: guid}})
	return wrapStore("unstar", err)
}

// Agenda returns the guids an attendee starred, oldest star first. Guids of
// sessions deleted since are included; callers filter by the timetable.
func (c *Catalog) Agenda(ctx context.Context, t tenant.ID, slug, user string) ([]string, error) {
	var docs []starDoc
	err := c.stars.Tenant(t).Find(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "user", Value: user}}, &docs,
		options.Find().SetSort(bson.D{{Key: "at", Value: 1}}))
	if err != nil {
		return nil, wrapStore("read agenda", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.GUID
	}
	return out, nil
}

// Starred returns the attendees who starred a session, for reminders.
func (c *Catalog) Starred(ctx context.Context, t tenant.ID, slug, guid string) ([]string, error) {
	var docs []starDoc
	if err := c.stars.Tenant(t).Find(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "guid", Value: guid}}, &docs); err != nil {
		return nil, wrapStore("read stars", err)
	}
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = d.User
	}
	return out, nil
}
