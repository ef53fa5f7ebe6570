package catalog

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// CreateConvention creates a convention with an empty timetable. It fails
// with ErrExists when the slug is taken in the tenant and ErrInvalid when
// the metadata is not valid.
func (c *Catalog) CreateConvention(ctx context.Context, t tenant.ID, conv schedule.Convention) (Info, error) {
	if err := validate(emptySchedule(conv)); err != nil {
		return Info{}, err
	}
	if err := c.insertConvention(ctx, t, conv.Slug, conv); err != nil {
		return Info{}, err
	}
	tt, err := c.Fresh(ctx, t, conv.Slug)
	if err != nil {
		return Info{}, err
	}
	return tt.Info, nil
}

// ListConventions returns the tenant's conventions ordered by slug; with
// publishedOnly, only the published ones.
func (c *Catalog) ListConventions(ctx context.Context, t tenant.ID, publishedOnly bool) ([]Info, error) {
	f := bson.D{}
	if publishedOnly {
		f = bson.D{{Key: "published", Value: true}}
	}
	var docs []conventionDoc
	if err := c.conventions.Tenant(t).Find(ctx, f, &docs, options.Find().SetSort(bson.D{{Key: "slug", Value: 1}})); err != nil {
		return nil, wrapStore("list conventions", err)
	}
	out := make([]Info, len(docs))
	for i := range docs {
		out[i] = docs[i].info()
	}
	return out, nil
}

// UpdateConvention changes the convention's metadata with fn (the slug and
// the days' identity stay as they are unless fn changes them consistently)
// and stores it as a commit, so the change is atomic with respect to
// timetable commits.
func (c *Catalog) UpdateConvention(ctx context.Context, t tenant.ID, slug string, fn func(*schedule.Convention) error) (Info, error) {
	res, err := c.commit(ctx, t, slug, nil, func(cur *Timetable) (*schedule.Schedule, error) {
		next := cur.Clone()
		if err := fn(&next.Convention); err != nil {
			return nil, err
		}
		return next, nil
	})
	if err != nil {
		return Info{}, err
	}
	return res.Timetable.Info, nil
}

// SetPublished publishes or unpublishes a convention: attendees see only
// published conventions and only those run timed actions.
func (c *Catalog) SetPublished(ctx context.Context, t tenant.ID, slug string, published bool) (Info, error) {
	ok, err := c.conventions.Tenant(t).UpdateOne(ctx, bson.D{{Key: "slug", Value: slug}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "published", Value: published},
			{Key: "etag", Value: randomHex(8)},
			{Key: "updated", Value: c.now()},
		}}}, false)
	if err != nil {
		return Info{}, wrapStore("publish", err)
	}
	if !ok {
		return Info{}, fmt.Errorf("convention %q: %w", slug, ErrNotFound)
	}
	c.cache.invalidate(cacheKey(t, slug))
	id := string(t) + "/" + slug
	if published {
		_, err = c.published.ReplaceOne(ctx, bson.D{{Key: "_id", Value: id}},
			publishedDoc{ID: id, Tenant: string(t), Slug: slug}, options.Replace().SetUpsert(true))
	} else {
		_, err = c.published.DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	}
	if err != nil {
		return Info{}, wrapStore("published index", err)
	}
	tt, err := c.Fresh(ctx, t, slug)
	if err != nil {
		return Info{}, err
	}
	return tt.Info, nil
}

// DeleteConvention deletes a convention with its timetable, agendas and feed
// nonces.
func (c *Catalog) DeleteConvention(ctx context.Context, t tenant.ID, slug string) error {
	mu := c.lock(t, slug)
	mu.Lock()
	defer mu.Unlock()
	ok, err := c.conventions.Tenant(t).DeleteOne(ctx, bson.D{{Key: "slug", Value: slug}})
	if err != nil {
		return wrapStore("delete convention", err)
	}
	c.cache.invalidate(cacheKey(t, slug))
	if !ok {
		return fmt.Errorf("convention %q: %w", slug, ErrNotFound)
	}
	if _, err := c.published.DeleteOne(ctx, bson.D{{Key: "_id", Value: string(t) + "/" + slug}}); err != nil {
		c.log.Warn("delete from published index", "tenant", t, "convention", slug, "err", err)
	}
	f := bson.D{{Key: "conv", Value: slug}}
	for _, coll := range []interface {
		DeleteMany(context.Context, any) (int64, error)
	}{
		c.sessions.Tenant(t), c.rooms.Tenant(t), c.tracks.Tenant(t), c.speakers.Tenant(t),
		c.versions.Tenant(t), c.stars.Tenant(t), c.feeds.Tenant(t),
	} {
		if _, err := coll.DeleteMany(ctx, f); err != nil {
			return wrapStore("delete convention data", err)
		}
	}
	return nil
}

// PublishedRef names one published convention.
type PublishedRef struct {
	Tenant tenant.ID
	Slug   string
}

// Published lists the published conventions of every tenant, for the
// action planner.
func (c *Catalog) Published(ctx context.Context) ([]PublishedRef, error) {
	cur, err := c.published.Find(ctx, bson.D{})
	if err != nil {
		return nil, wrapStore("list published", err)
	}
	var docs []publishedDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, wrapStore("list published", err)
	}
	out := make([]PublishedRef, 0, len(docs))
	for _, d := range docs {
		id, err := tenant.Parse(d.Tenant)
		if err != nil {
			continue
		}
		out = append(out, PublishedRef{Tenant: id, Slug: d.Slug})
	}
	return out, nil
}
