package store

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// TenantField is the document field that carries the owning tenant. Every
// tenant-owned document has it, every tenant-scoped filter matches on it and
// every index starts with it.
const TenantField = "tenant"

// Collection is a collection of tenant-owned documents. It has no query
// methods of its own: call Tenant to get a view scoped to one tenant.
type Collection struct {
	c *mongo.Collection
}

// Name is the collection name.
func (c *Collection) Name() string { return c.c.Name() }

// Tenant returns the view of the collection that holds only t's documents.
func (c *Collection) Tenant(t tenant.ID) Scoped {
	return Scoped{c: c.c, t: t}
}

// EnsureIndexes creates the given indexes, each prefixed with the tenant
// field so that every lookup is a per-tenant range and uniqueness is per
// tenant. Creating an existing index is a no-op.
func (c *Collection) EnsureIndexes(ctx context.Context, models ...mongo.IndexModel) error {
	if len(models) == 0 {
		return nil
	}
	scoped := make([]mongo.IndexModel, 0, len(models))
	for _, m := range models {
		keys, err := toD(m.Keys)
		if err != nil {
			return fmt.Errorf("index keys on %s: %w", c.c.Name(), err)
		}
		m.Keys = append(bson.D{{Key: TenantField, Value: 1}}, keys...)
		scoped = append(scoped, m)
	}
	// One createIndexes call per index: FerretDB 1.24 (SQLite) crashes when
	// one call re-creates several existing indexes, as every restart does.
	for _, m := range scoped {
		if _, err := c.c.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("ensure indexes on %s: %w", c.c.Name(), err)
		}
	}
	return nil
}

// Scoped is one tenant's view of a collection. Every operation adds the
// tenant to its filter and to the documents it writes, so no method can read
// or change another tenant's documents. The zero value is unusable.
type Scoped struct {
	c *mongo.Collection
	t tenant.ID
}

// TenantID is the tenant this view is scoped to.
func (s Scoped) TenantID() tenant.ID { return s.t }

func (s Scoped) check() error {
	if s.c == nil || !s.t.Valid() {
		return fmt.Errorf("%w: %q", ErrNoTenant, s.t)
	}
	return nil
}

// filter returns f with the tenant condition in front. A nil f matches all
// of the tenant's documents. A tenant key already in f is overridden, never
// trusted.
func (s Scoped) filter(f any) (bson.D, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	d, err := toD(f)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	out := make(bson.D, 0, len(d)+1)
	out = append(out, bson.E{Key: TenantField, Value: string(s.t)})
	for _, e := range d {
		if e.Key != TenantField {
			out = append(out, e)
		}
	}
	return out, nil
}

// doc returns v as a document owned by the tenant (the tenant field set,
// whatever v said).
func (s Scoped) doc(v any) (bson.D, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	d, err := toD(v)
	if err != nil {
		return nil, fmt.Errorf("document: %w", err)
	}
	out := make(bson.D, 0, len(d)+1)
	// Keep _id first, as MongoDB does.
	for _, e := range d {
		if e.Key == "_id" {
			out = append(out, e)
		}
	}
	out = append(out, bson.E{Key: TenantField, Value: string(s.t)})
	for _, e := range d {
		if e.Key != TenantField && e.Key != "_id" {
			out = append(out, e)
		}
	}
	return out, nil
}

// update rejects updates that would move a document to another tenant.
func (s Scoped) update(u any) (any, error) {
	d, err := toD(u)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	for _, op := range d {
		fields, ok := op.Value.(bson.D)
		if !ok {
			continue
		}
		for _, f := range fields {
			if f.Key == TenantField {
				return nil, fmt.Errorf("%w: update may not change %q", ErrNoTenant, TenantField)
			}
		}
	}
	return d, nil
}

// InsertOne inserts v as a document of the tenant.
func (s Scoped) InsertOne(ctx context.Context, v any) error {
	d, err := s.doc(v)
	if err != nil {
		return err
	}
	if _, err := s.c.InsertOne(ctx, d); err != nil {
		return wrap(err)
	}
	return nil
}

// InsertMany inserts vs as documents of the tenant, in order.
func (s Scoped) InsertMany(ctx context.Context, vs []any) error {
	if len(vs) == 0 {
		return nil
	}
	docs := make([]any, len(vs))
	for i, v := range vs {
		d, err := s.doc(v)
		if err != nil {
			return err
		}
		docs[i] = d
	}
	if _, err := s.c.InsertMany(ctx, docs); err != nil {
		return wrap(err)
	}
	return nil
}

// FindOne decodes the first matching document into out; ErrNotFound if none.
func (s Scoped) FindOne(ctx context.Context, filter, out any, opts ...options.Lister[options.FindOneOptions]) error {
	f, err := s.filter(filter)
	if err != nil {
		return err
	}
	if err := s.c.FindOne(ctx, f, opts...).Decode(out); err != nil {
		return wrap(err)
	}
	return nil
}

// Find decodes all matching documents into out (a pointer to a slice).
func (s Scoped) Find(ctx context.Context, filter, out any, opts ...options.Lister[options.FindOptions]) error {
	f, err := s.filter(filter)
	if err != nil {
		return err
	}
	cur, err := s.c.Find(ctx, f, opts...)
	if err != nil {
		return wrap(err)
	}
	if err := cur.All(ctx, out); err != nil {
		return wrap(err)
	}
	return nil
}

// Cursor returns a cursor over matching documents for large result sets.
// The caller closes it.
func (s Scoped) Cursor(ctx context.Context, filter any, opts ...options.Lister[options.FindOptions]) (*mongo.Cursor, error) {
	f, err := s.filter(filter)
	if err != nil {
		return nil, err
	}
	cur, err := s.c.Find(ctx, f, opts...)
	return cur, wrap(err)
}

// Count counts matching documents.
func (s Scoped) Count(ctx context.Context, filter any) (int64, error) {
	f, err := s.filter(filter)
	if err != nil {
		return 0, err
	}
	n, err := s.c.CountDocuments(ctx, f)
	return n, wrap(err)
}

// UpdateOne applies update to the first matching document. With upsert, a
// new document gets the tenant from the filter. It reports whether a
// document matched or was inserted.
func (s Scoped) UpdateOne(ctx context.Context, filter, update any, upsert bool) (bool, error) {
	f, err := s.filter(filter)
	if err != nil {
		return false, err
	}
	u, err := s.update(update)
	if err != nil {
		return false, err
	}
	r, err := s.c.UpdateOne(ctx, f, u, options.UpdateOne().SetUpsert(upsert))
	if err != nil {
		return false, wrap(err)
	}
	return r.MatchedCount > 0 || r.UpsertedCount > 0, nil
}

// UpdateMany applies update to every matching document and returns how many
// matched.
func (s Scoped) UpdateMany(ctx context.Context, filter, update any) (int64, error) {
	f, err := s.filter(filter)
	if err != nil {
		return 0, err
	}
	u, err := s.update(update)
	if err != nil {
		return 0, err
	}
	r, err := s.c.UpdateMany(ctx, f, u)
	if err != nil {
		return 0, wrap(err)
	}
	return r.MatchedCount, nil
}

// ReplaceOne replaces the first matching document with v (tenant kept).
func (s Scoped) ReplaceOne(ctx context.Context, filter, v any, upsert bool) (bool, error) {
	f, err := s.filter(filter)
	if err != nil {
		return false, err
	}
	d, err := s.doc(v)
	if err != nil {
		return false, err
	}
	r, err := s.c.ReplaceOne(ctx, f, d, options.Replace().SetUpsert(upsert))
	if err != nil {
		return false, wrap(err)
	}
	return r.MatchedCount > 0 || r.UpsertedCount > 0, nil
}

// FindOneAndUpdate applies update to the first matching document and decodes
// the document after the update into out; ErrNotFound if none matched and
// upsert is false.
func (s Scoped) FindOneAndUpdate(ctx context.Context, filter, update, out any, upsert bool) error {
	f, err := s.filter(filter)
	if err != nil {
		return err
	}
	u, err := s.update(update)
	if err != nil {
		return err
	}
	o := options.FindOneAndUpdate().SetUpsert(upsert).SetReturnDocument(options.After)
	return wrap(s.c.FindOneAndUpdate(ctx, f, u, o).Decode(out))
}

// DeleteOne deletes the first matching document and reports whether one was.
func (s Scoped) DeleteOne(ctx context.Context, filter any) (bool, error) {
	f, err := s.filter(filter)
	if err != nil {
		return false, err
	}
	r, err := s.c.DeleteOne(ctx, f)
	if err != nil {
		return false, wrap(err)
	}
	return r.DeletedCount > 0, nil
}

// DeleteMany deletes every matching document and returns how many.
func (s Scoped) DeleteMany(ctx context.Context, filter any) (int64, error) {
	f, err := s.filter(filter)
	if err != nil {
		return 0, err
	}
	r, err := s.c.DeleteMany(ctx, f)
	if err != nil {
		return 0, wrap(err)
	}
	return r.DeletedCount, nil
}

// Aggregate runs pipeline over the tenant's documents (a $match on the
// tenant is put first) and decodes the results into out.
func (s Scoped) Aggregate(ctx context.Context, pipeline []bson.D, out any) error {
	f, err := s.filter(nil)
	if err != nil {
		return err
	}
	p := make([]bson.D, 0, len(pipeline)+1)
	p = append(p, bson.D{{Key: "$match", Value: f}})
	p = append(p, pipeline...)
	cur, err := s.c.Aggregate(ctx, p)
	if err != nil {
		return wrap(err)
	}
	return wrap(cur.All(ctx, out))
}

// toD converts a filter, document or key spec to bson.D by round-tripping
// through BSON, so callers may pass structs, bson.M or bson.D.
func toD(v any) (bson.D, error) {
	switch x := v.(type) {
	case nil:
		return bson.D{}, nil
	case bson.D:
		return x, nil
	}
	raw, err := bson.Marshal(v)
	if err != nil {
		return nil, err
	}
	var d bson.D
	if err := bson.Unmarshal(raw, &d); err != nil {
		return nil, err
	}
	return d, nil
}

// wrap maps driver errors onto the package's sentinels, keeping the cause.
func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errorsIsNoDocs(err):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case mongo.IsDuplicateKeyError(err):
		return fmt.Errorf("%w: %w", ErrDuplicate, err)
	}
	return err
}

func errorsIsNoDocs(err error) bool { return errors.Is(err, mongo.ErrNoDocuments) }
