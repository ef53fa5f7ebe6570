package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Defaults of Options.
const (
	DefaultMaxAge     = 2 * time.Second
	DefaultStaleClaim = 2 * time.Minute
	DefaultMaxCached  = 256
)

// Options tunes a Catalog. Zero values mean the defaults given on each field.
type Options struct {
	// MaxAge is how long a cached timetable is served without asking the
	// store whether it changed (default 2s). Writes made through this
	// Catalog invalidate its cache at once; other processes' writes are
	// seen within MaxAge.
	MaxAge time.Duration
	// StaleClaim is how old an unfinished commit's claim must be before
	// another writer takes it over (default 2m). It must exceed the longest
	// commit (writing a 2,000-session version takes well under a second).
	StaleClaim time.Duration
	// MaxCached bounds the timetables kept in memory (default 256).
	MaxCached int
	// Now replaces time.Now (tests). Nil means time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.StaleClaim <= 0 {
		o.StaleClaim = DefaultStaleClaim
	}
	if o.MaxCached <= 0 {
		o.MaxCached = DefaultMaxCached
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Catalog is the scheduler's persistence: conventions, versioned timetables,
// personal agendas and feed secrets, all tenant-scoped.
type Catalog struct {
	opts  Options
	log   *slog.Logger
	owner string // this instance's id in claims

	conventions, sessions, rooms, tracks, speakers *store.Collection
	versions, stars, feeds, secrets                *store.Collection
	published                                      *mongo.Collection

	cache *cache

	// locks serialises commits to one convention within this process, so
	// that local writers queue instead of racing for the claim.
	locksMu sync.Mutex
	locks   map[string]*sync.Mutex

	secretsMu sync.Mutex
	secretMap map[tenant.ID][]byte

	// failWrite, when set (tests), is called before each write step of a
	// commit and can make it fail to exercise the rollback.
	failWrite func(step string) error
}

// New opens the catalog on st and creates its indexes.
func New(ctx context.Context, st *store.Store, opts Options, log *slog.Logger) (*Catalog, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil store", ErrUnavailable)
	}
	if log == nil {
		log = slog.Default()
	}
	c := &Catalog{
		opts:        opts.withDefaults(),
		log:         log.With("component", "scheduler.catalog"),
		owner:       randomHex(8),
		conventions: st.Collection(conventionsCollection),
		sessions:    st.Collection(sessionsCollection),
		rooms:       st.Collection(roomsCollection),
		tracks:      st.Collection(tracksCollection),
		speakers:    st.Collection(speakersCollection),
		versions:    st.Collection(versionsCollection),
		stars:       st.Collection(starsCollection),
		feeds:       st.Collection(feedsCollection),
		secrets:     st.Collection(secretsCollection),
		// System collection: the cross-tenant index of published
		// conventions that the action planner reads (see doc.go).
		published: st.System(publishedCollection),
		locks:     map[string]*sync.Mutex{},
		secretMap: map[tenant.ID][]byte{},
	}
	c.cache = newCache(c.opts.MaxCached)
	if err := c.ensureIndexes(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Catalog) ensureIndexes(ctx context.Context) error {
	unique := func(keys ...string) mongo.IndexModel {
		d := bson.D{}
		for _, k := range keys {
			d = append(d, bson.E{Key: k, Value: 1})
		}
		return mongo.IndexModel{Keys: d, Options: options.Index().SetUnique(true)}
	}
	plain := func(keys ...string) mongo.IndexModel {
		m := unique(keys...)
		m.Options = nil
		return m
	}
	idx := []struct {
		c *store.Collection
		m []mongo.IndexModel
	}{
		{c.conventions, []mongo.IndexModel{unique("slug")}},
		{c.sessions, []mongo.IndexModel{unique("conv", "ver", "guid")}},
		{c.rooms, []mongo.IndexModel{unique("conv", "ver", "name")}},
		{c.tracks, []mongo.IndexModel{unique("conv", "ver", "name")}},
		{c.speakers, []mongo.IndexModel{unique("conv", "ver", "key")}},
		{c.versions, []mongo.IndexModel{unique("conv", "base", "gen")}},
		{c.stars, []mongo.IndexModel{unique("conv", "user", "guid"), plain("conv", "guid")}},
		{c.feeds, []mongo.IndexModel{unique("conv", "user")}},
		{c.secrets, []mongo.IndexModel{unique("name")}},
	}
	for _, x := range idx {
		// One index per call: FerretDB 1.24 crashes on a createIndexes with
		// several models when some of them already exist.
		for _, m := range x.m {
			if err := x.c.EnsureIndexes(ctx, m); err != nil {
				return fmt.Errorf("%w: %w", ErrUnavailable, err)
			}
		}
	}
	return nil
}

// lock returns the in-process mutex of one convention.
func (c *Catalog) lock(t tenant.ID, slug string) *sync.Mutex {
	c.locksMu.Lock()
	defer c.locksMu.Unlock()
	k := cacheKey(t, slug)
	m, ok := c.locks[k]
	if !ok {
		m = &sync.Mutex{}
		c.locks[k] = m
	}
	return m
}

// now is the catalog's clock, in UTC with BSON's millisecond precision so
// that what is returned equals what is read back.
func (c *Catalog) now() time.Time {
	return c.opts.Now().UTC().Truncate(time.Millisecond)
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// wrapStore turns a store error into a catalog error: not found stays not
// found, a duplicate stays a duplicate, anything else is unavailable.
func wrapStore(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case store.IsNotFound(err):
		return fmt.Errorf("%s: %w: %w", op, ErrNotFound, err)
	case store.IsDuplicate(err):
		return fmt.Errorf("%s: %w: %w", op, ErrExists, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
}

// sortByPos is the find option that reads a version in display order.
func sortByPos() *options.FindOptionsBuilder {
	return options.Find().SetSort(bson.D{{Key: "pos", Value: 1}})
}

// emptySchedule is the timetable of a convention that has none yet.
func emptySchedule(conv schedule.Convention) *schedule.Schedule {
	return &schedule.Schedule{Convention: conv}
}
