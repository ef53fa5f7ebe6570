package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// maxCommitAttempts bounds how often a commit starts over because another
// writer flipped the convention between its read and its flip.
const maxCommitAttempts = 3

// cleanupTimeout bounds the best-effort writes (rollback, clean-up) a commit
// makes after its caller's context may have ended.
const cleanupTimeout = 30 * time.Second

// Diff counts what a commit did to the sessions, matched by guid.
type Diff struct {
	// Created are sessions whose guid the previous version did not have.
	Created int `json:"created"`
	// Updated are sessions whose content changed.
	Updated int `json:"updated"`
	// Unchanged are sessions identical to the previous version's.
	Unchanged int `json:"unchanged"`
	// Deleted are sessions of the previous version the new one lacks.
	Deleted int `json:"deleted"`
}

// CommitResult describes a commit.
type CommitResult struct {
	// Diff counts the session changes.
	Diff Diff
	// Changed is false when the new timetable equalled the current one and
	// nothing was written.
	Changed bool
	// Timetable is the timetable after the commit.
	Timetable *Timetable
}

// buildFunc computes the next timetable from the current one. It may modify
// and return cur.Clone(); it must not modify cur.
type buildFunc func(cur *Timetable) (*schedule.Schedule, error)

// commit stores build's result as the convention's next version (see
// doc.go). With create set, a missing convention is created first from
// *create; otherwise a missing convention is ErrNotFound.
func (c *Catalog) commit(ctx context.Context, t tenant.ID, slug string, create *schedule.Convention, build buildFunc) (CommitResult, error) {
	mu := c.lock(t, slug)
	mu.Lock()
	defer mu.Unlock()
	for range maxCommitAttempts {
		cur, err := c.Fresh(ctx, t, slug)
		if isNotFound(err) && create != nil {
			if err := c.insertConvention(ctx, t, slug, *create); err != nil && !errors.Is(err, ErrExists) {
				return CommitResult{}, err
			}
			continue
		}
		if err != nil {
			return CommitResult{}, err
		}
		next, err := build(cur)
		if err != nil {
			return CommitResult{}, err
		}
		next.Convention.Slug = slug
		if err := validate(next); err != nil {
			return CommitResult{}, err
		}
		ch, err := compare(cur.Schedule(), next)
		if err != nil {
			return CommitResult{}, err
		}
		if !ch.meta && !ch.docs {
			return CommitResult{Diff: ch.diff, Timetable: cur}, nil
		}
		tt, retry, err := c.write(ctx, t, cur, next, ch)
		if err != nil {
			return CommitResult{}, err
		}
		if retry {
			continue
		}
		return CommitResult{Diff: ch.diff, Changed: true, Timetable: tt}, nil
	}
	return CommitResult{}, fmt.Errorf("%w: convention %q", ErrBusy, slug)
}

// write claims the succession of cur's version, writes next and flips the
// convention to it. retry reports that another writer got there first and
// the commit should start over from a fresh read.
func (c *Catalog) write(ctx context.Context, t tenant.ID, cur *Timetable, next *schedule.Schedule, ch change) (*Timetable, bool, error) {
	slug := next.Convention.Slug
	base := cur.Info.Ver
	newVer := base
	if ch.docs {
		newVer = randomHex(8)
	}
	claim, retry, err := c.claim(ctx, t, slug, base, newVer)
	if err != nil || retry {
		return nil, retry, err
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	undo := func() {
		if ch.docs {
			c.deleteVersion(bg, t, slug, newVer)
		}
		c.releaseClaim(bg, t, claim)
	}
	if ch.docs {
		if err := c.writeVersion(ctx, t, slug, newVer, next); err != nil {
			undo()
			return nil, false, err
		}
	}
	now := c.now()
	counts := countsOf(next)
	etag := randomHex(8)
	set := bson.D{
		{Key: "meta", Value: next.Convention},
		{Key: "ver", Value: newVer},
		{Key: "etag", Value: etag},
		{Key: "counts", Value: counts},
		{Key: "updated", Value: now},
	}
	if ch.docs {
		set = append(set, bson.E{Key: "prev_ver", Value: base})
	}
	matched, err := c.step("flip", func() (bool, error) {
		return c.conventions.Tenant(t).UpdateOne(ctx,
			bson.D{{Key: "slug", Value: slug}, {Key: "ver", Value: base}},
			bson.D{{Key: "$set", Value: set}}, false)
	})
	if err != nil || !matched {
		undo()
		if err != nil {
			return nil, false, wrapStore("flip", err)
		}
		return nil, true, nil
	}
	c.cache.invalidate(cacheKey(t, slug))
	if !ch.docs {
		c.releaseClaim(bg, t, claim) // nothing to clean up; free the base for the next writer
	} else {
		c.cleanup(bg, t, slug, cur)
	}
	info := cur.Info
	info.Convention, info.Ver, info.ETag, info.Counts, info.Updated = next.Convention, newVer, etag, counts, now
	if ch.docs {
		info.prevVer = base
	}
	return newTimetable(info, next), false, nil
}

// step runs one write of a commit, first consulting the test hook.
func (c *Catalog) step(name string, f func() (bool, error)) (bool, error) {
	if c.failWrite != nil {
		if err := c.failWrite(name); err != nil {
			return false, err
		}
	}
	return f()
}

// claim inserts the claim on base. retry is set when base is no longer the
// convention's version (another writer flipped it); ErrBusy when another
// writer holds a fresh claim.
func (c *Catalog) claim(ctx context.Context, t tenant.ID, slug, base, newVer string) (claimDoc, bool, error) {
	coll := c.versions.Tenant(t)
	cl := claimDoc{Conv: slug, Base: base, Gen: 1, New: newVer, At: c.now(), Owner: c.owner}
	err := coll.InsertOne(ctx, cl)
	if err == nil {
		return cl, false, nil
	}
	if wrapped := wrapStore("claim", err); !errors.Is(wrapped, ErrExists) {
		return cl, false, wrapped
	}
	var latest claimDoc
	if err := coll.FindOne(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "base", Value: base}}, &latest,
		options.FindOne().SetSort(bson.D{{Key: "gen", Value: -1}})); err != nil {
		if isNotFound(wrapStore("", err)) {
			return cl, true, nil // released meanwhile: start over
		}
		return cl, false, wrapStore("read claim", err)
	}
	if c.now().Sub(latest.At) < c.opts.StaleClaim {
		return cl, false, fmt.Errorf("%w: convention %q", ErrBusy, slug)
	}
	// The claim is stale. Take it over only if its writer never flipped:
	// otherwise base is simply outdated and the commit starts over.
	d, err := c.readConvention(ctx, t, slug)
	if err != nil {
		return cl, false, err
	}
	if d.Ver != base {
		return cl, true, nil
	}
	cl.Gen = latest.Gen + 1
	if err := coll.InsertOne(ctx, cl); err != nil {
		if errors.Is(wrapStore("", err), ErrExists) {
			return cl, false, fmt.Errorf("%w: convention %q", ErrBusy, slug)
		}
		return cl, false, wrapStore("take over claim", err)
	}
	if latest.New != base {
		c.deleteVersion(ctx, t, slug, latest.New) // the crashed writer's orphans
	}
	c.log.Warn("took over a stale commit claim", "tenant", t, "convention", slug, "stale_owner", latest.Owner)
	return cl, false, nil
}

// releaseClaim deletes a claim so that base may be claimed again.
func (c *Catalog) releaseClaim(ctx context.Context, t tenant.ID, cl claimDoc) {
	_, err := c.versions.Tenant(t).DeleteOne(ctx, bson.D{{Key: "conv", Value: cl.Conv}, {Key: "base", Value: cl.Base}, {Key: "gen", Value: cl.Gen}})
	if err != nil {
		c.log.Warn("release commit claim", "tenant", t, "convention", cl.Conv, "err", err)
	}
}

// writeVersion inserts the documents of version ver.
func (c *Catalog) writeVersion(ctx context.Context, t tenant.ID, slug, ver string, s *schedule.Schedule) error {
	sessions := make([]any, len(s.Sessions))
	for i := range s.Sessions {
		sessions[i] = sessionDoc{Conv: slug, Ver: ver, Pos: i, Session: s.Sessions[i]}
	}
	rooms := make([]any, len(s.Rooms))
	for i := range s.Rooms {
		rooms[i] = roomDoc{Conv: slug, Ver: ver, Pos: i, Room: s.Rooms[i]}
	}
	tracks := make([]any, len(s.Tracks))
	for i := range s.Tracks {
		tracks[i] = trackDoc{Conv: slug, Ver: ver, Pos: i, Track: s.Tracks[i]}
	}
	speakers := make([]any, len(s.Speakers))
	for i := range s.Speakers {
		speakers[i] = speakerDoc{Conv: slug, Ver: ver, Pos: i, Key: s.Speakers[i].Key(), Speaker: s.Speakers[i]}
	}
	writes := []struct {
		name string
		coll interface {
			InsertMany(context.Context, []any) error
		}
		docs []any
	}{
		{"rooms", c.rooms.Tenant(t), rooms},
		{"tracks", c.tracks.Tenant(t), tracks},
		{"speakers", c.speakers.Tenant(t), speakers},
		{"sessions", c.sessions.Tenant(t), sessions},
	}
	for _, w := range writes {
		if _, err := c.step(w.name, func() (bool, error) { return true, w.coll.InsertMany(ctx, w.docs) }); err != nil {
			return wrapStore("write "+w.name, err)
		}
	}
	return nil
}

// deleteVersion deletes every document of version ver (best effort).
func (c *Catalog) deleteVersion(ctx context.Context, t tenant.ID, slug, ver string) {
	f := bson.D{{Key: "conv", Value: slug}, {Key: "ver", Value: ver}}
	for _, coll := range []interface {
		DeleteMany(context.Context, any) (int64, error)
	}{c.sessions.Tenant(t), c.rooms.Tenant(t), c.tracks.Tenant(t), c.speakers.Tenant(t)} {
		if _, err := coll.DeleteMany(ctx, f); err != nil {
			c.log.Warn("delete timetable version", "tenant", t, "convention", slug, "ver", ver, "err", err)
		}
	}
}

// cleanup deletes the version before the one just replaced (readers may
// still be loading the replaced one) and the claims on it.
func (c *Catalog) cleanup(ctx context.Context, t tenant.ID, slug string, replaced *Timetable) {
	prev := replaced.Info.prevVer
	if prev == "" {
		return
	}
	c.deleteVersion(ctx, t, slug, prev)
	if _, err := c.versions.Tenant(t).DeleteMany(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "base", Value: prev}}); err != nil {
		c.log.Warn("delete old commit claims", "tenant", t, "convention", slug, "err", err)
	}
}

// insertConvention creates the convention document with an empty timetable.
func (c *Catalog) insertConvention(ctx context.Context, t tenant.ID, slug string, conv schedule.Convention) error {
	conv.Slug = slug
	now := c.now()
	d := conventionDoc{Slug: slug, Meta: conv, ETag: randomHex(8), Created: now, Updated: now}
	if err := c.conventions.Tenant(t).InsertOne(ctx, d); err != nil {
		return wrapStore(fmt.Sprintf("create convention %q", slug), err)
	}
	c.cache.invalidate(cacheKey(t, slug))
	return nil
}

func countsOf(s *schedule.Schedule) Counts {
	return Counts{Sessions: len(s.Sessions), Rooms: len(s.Rooms), Tracks: len(s.Tracks), Speakers: len(s.Speakers)}
}
