package catalog

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// loadRetries bounds how often a reader retries a version that was replaced
// and deleted while it read it.
const loadRetries = 4

// Timetable returns the convention's current timetable, from the cache when
// it was confirmed current within Options.MaxAge. ErrNotFound if there is no
// such convention.
func (c *Catalog) Timetable(ctx context.Context, t tenant.ID, slug string) (*Timetable, error) {
	return c.timetable(ctx, t, slug, c.opts.MaxAge)
}

// Fresh is Timetable with the cache revalidated against the store first, for
// decisions that must not act on a stale timetable (firing a timed action).
func (c *Catalog) Fresh(ctx context.Context, t tenant.ID, slug string) (*Timetable, error) {
	return c.timetable(ctx, t, slug, 0)
}

func (c *Catalog) timetable(ctx context.Context, t tenant.ID, slug string, maxAge time.Duration) (*Timetable, error) {
	now := c.opts.Now()
	key := cacheKey(t, slug)
	e := c.cache.entry(key, now)
	if s := e.snap.Load(); s != nil && maxAge > 0 && now.Sub(s.checked) < maxAge {
		return s.tt, nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Another request may have revalidated while this one waited.
	if s := e.snap.Load(); s != nil && maxAge > 0 && c.opts.Now().Sub(s.checked) < maxAge {
		return s.tt, nil
	}
	var prev *Timetable
	if s := e.snap.Load(); s != nil {
		prev = s.tt
	}
	tt, err := c.load(ctx, t, slug, prev)
	if err != nil {
		if isNotFound(err) {
			c.cache.invalidate(key)
		}
		return nil, err
	}
	e.snap.Store(&snapshot{tt: tt, checked: c.opts.Now()})
	return tt, nil
}

// load reads the convention and, unless prev already holds its version,
// the version's documents.
func (c *Catalog) load(ctx context.Context, t tenant.ID, slug string, prev *Timetable) (*Timetable, error) {
	for range loadRetries {
		d, err := c.readConvention(ctx, t, slug)
		if err != nil {
			return nil, err
		}
		info := d.info()
		if prev != nil && prev.Info.Ver == d.Ver {
			if prev.Info.ETag == d.ETag {
				return prev, nil
			}
			s := *prev.sched // metadata changed: share the version's slices
			return newTimetable(info, &s), nil
		}
		s, complete, err := c.readVersion(ctx, t, d)
		if err != nil {
			return nil, err
		}
		if complete {
			return newTimetable(info, s), nil
		}
		// The version was replaced and is being deleted: read the new one.
	}
	return nil, fmt.Errorf("%w: convention %q changed %d times while being read", ErrBusy, slug, loadRetries)
}

// readConvention reads the convention document.
func (c *Catalog) readConvention(ctx context.Context, t tenant.ID, slug string) (*conventionDoc, error) {
	var d conventionDoc
	err := c.conventions.Tenant(t).FindOne(ctx, bson.D{{Key: "slug", Value: slug}}, &d)
	if err != nil {
		return nil, wrapStore(fmt.Sprintf("convention %q", slug), err)
	}
	return &d, nil
}

// readVersion reads the documents of d's current version. complete is false
// when fewer documents than d.Counts were found (the version is being
// deleted by a newer commit).
func (c *Catalog) readVersion(ctx context.Context, t tenant.ID, d *conventionDoc) (*schedule.Schedule, bool, error) {
	s := emptySchedule(d.Meta)
	if d.Ver == "" {
		return s, true, nil
	}
	f := bson.D{{Key: "conv", Value: d.Slug}, {Key: "ver", Value: d.Ver}}
	var (
		sessions []sessionDoc
		rooms    []roomDoc
		tracks   []trackDoc
		speakers []speakerDoc
	)
	if err := c.sessions.Tenant(t).Find(ctx, f, &sessions, sortByPos()); err != nil {
		return nil, false, wrapStore("read sessions", err)
	}
	if err := c.rooms.Tenant(t).Find(ctx, f, &rooms, sortByPos()); err != nil {
		return nil, false, wrapStore("read rooms", err)
	}
	if err := c.tracks.Tenant(t).Find(ctx, f, &tracks, sortByPos()); err != nil {
		return nil, false, wrapStore("read tracks", err)
	}
	if err := c.speakers.Tenant(t).Find(ctx, f, &speakers, sortByPos()); err != nil {
		return nil, false, wrapStore("read speakers", err)
	}
	got := Counts{Sessions: len(sessions), Rooms: len(rooms), Tracks: len(tracks), Speakers: len(speakers)}
	if got != d.Counts {
		return nil, false, nil
	}
	s.Sessions = make([]schedule.Session, len(sessions))
	for i := range sessions {
		s.Sessions[i] = sessions[i].Session
	}
	s.Rooms = make([]schedule.Room, len(rooms))
	for i := range rooms {
		s.Rooms[i] = rooms[i].Room
	}
	s.Tracks = make([]schedule.Track, len(tracks))
	for i := range tracks {
		s.Tracks[i] = tracks[i].Track
	}
	s.Speakers = make([]schedule.Speaker, len(speakers))
	for i := range speakers {
		s.Speakers[i] = speakers[i].Speaker
	}
	return s, true, nil
}
