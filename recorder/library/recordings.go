package library

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// validID checks a recording or course ID.
func validID(kind, id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("%w: %s id %q: use 1-128 letters, digits and ._-", ErrInvalid, kind, id)
	}
	return nil
}

type recordingDoc struct {
	DocID     string `bson:"_id"`
	Recording `bson:",inline"`
	// LessonAdded is set once the recording has been added to its track's
	// course, so that an organizer who removes the lesson keeps it removed.
	LessonAdded bool `bson:"lesson_added"`
}

// AddRecording registers a recording (typically when recording starts).
// Registering an existing ID updates its session, room, title and track.
func (l *Library) AddRecording(ctx context.Context, t tenant.ID, r Recording) error {
	if err := validID("recording", r.ID); err != nil {
		return err
	}
	now := l.cfg.Now().UTC()
	set := bson.D{
		{Key: "id", Value: r.ID}, {Key: "session", Value: r.Session}, {Key: "room", Value: r.Room},
		{Key: "title", Value: r.Title}, {Key: "track", Value: r.Track}, {Key: "updated_at", Value: now},
	}
	status := r.Status
	if status == StatusUnknown {
		status = StatusRecording
	}
	onInsert := bson.D{{Key: "status", Value: status}, {Key: "created_at", Value: now}, {Key: "lesson_added", Value: false}}
	_, err := l.recs.Tenant(t).UpdateOne(ctx, byID(docID(t, r.ID)),
		bson.D{{Key: "$set", Value: set}, {Key: "$setOnInsert", Value: onInsert}}, true)
	return wrapStore(err, "recording "+r.ID)
}

// Recording returns one recording.
func (l *Library) Recording(ctx context.Context, t tenant.ID, id string) (Recording, error) {
	var d recordingDoc
	err := l.recs.Tenant(t).FindOne(ctx, byID(docID(t, id)), &d)
	return d.Recording, wrapStore(err, "recording "+id)
}

// Recordings lists the tenant's recordings, newest first; session, when not
// empty, keeps those of one schedule session.
func (l *Library) Recordings(ctx context.Context, t tenant.ID, session string) ([]Recording, error) {
	var filter bson.D
	if session != "" {
		filter = bson.D{{Key: "session", Value: session}}
	}
	var docs []recordingDoc
	if err := l.recs.Tenant(t).Find(ctx, filter, &docs, options.Find().SetSort(bson.D{{Key: "created_at", Value: -1}})); err != nil {
		return nil, wrapStore(err, "recordings")
	}
	out := make([]Recording, len(docs))
	for i, d := range docs {
		out[i] = d.Recording
	}
	return out, nil
}

// SetStatus records a recording's status; for StatusFailed, msg says why.
func (l *Library) SetStatus(ctx context.Context, t tenant.ID, id string, st Status, msg string) error {
	if _, err := ParseStatus(string(st)); err != nil {
		return err
	}
	ok, err := l.recs.Tenant(t).UpdateOne(ctx, byID(docID(t, id)), bson.D{{Key: "$set", Value: bson.D{
		{Key: "status", Value: st}, {Key: "error", Value: msg}, {Key: "updated_at", Value: l.cfg.Now().UTC()},
	}}}, false)
	if err == nil && !ok {
		return fmt.Errorf("%w: recording %s", ErrNotFound, id)
	}
	return wrapStore(err, "recording "+id)
}

// Packaged marks a recording ready with its VOD and duration. A recording
// with a schedule track is first added as a lesson to the track's course
// (created on first use), once: so that "ready" means fully catalogued.
func (l *Library) Packaged(ctx context.Context, t tenant.ID, id string, vod VOD, duration float64) error {
	if !strings.HasSuffix(vod.Prefix, "/") || vod.Master == "" {
		return fmt.Errorf("%w: vod prefix %q must end in / and name a master playlist", ErrInvalid, vod.Prefix)
	}
	sc := l.recs.Tenant(t)
	var d recordingDoc
	if err := sc.FindOne(ctx, byID(docID(t, id)), &d); err != nil {
		return wrapStore(err, "recording "+id)
	}
	set := bson.D{
		{Key: "status", Value: StatusReady}, {Key: "error", Value: ""}, {Key: "vod", Value: vod},
		{Key: "duration", Value: duration}, {Key: "updated_at", Value: l.cfg.Now().UTC()},
	}
	if d.Track != "" && !d.LessonAdded {
		c, err := l.EnsureTrackCourse(ctx, t, d.Track)
		if err != nil {
			return err
		}
		title := d.Title
		if title == "" {
			title = d.ID
		}
		if err := l.AddLesson(ctx, t, c.ID, Lesson{Recording: id, Title: title}); err != nil {
			return err
		}
		set = append(set, bson.E{Key: "lesson_added", Value: true})
	}
	_, err := sc.UpdateOne(ctx, byID(docID(t, id)), bson.D{{Key: "$set", Value: set}}, false)
	return wrapStore(err, "recording "+id)
}

// PlaybackURL returns a signed URL of the recording's master playlist, or
// "" when no signer is configured or the recording is not ready.
func (l *Library) PlaybackURL(t tenant.ID, r Recording) string {
	if l.cfg.Playback == nil || r.VOD == nil || r.Status != StatusReady {
		return ""
	}
	return l.cfg.Playback.URL("", t, r.VOD.Prefix, r.VOD.Prefix+r.VOD.Master, l.cfg.PlaybackTTL)
}

// PosterURL returns a signed URL of the recording's poster, or "".
func (l *Library) PosterURL(t tenant.ID, r Recording) string {
	if l.cfg.Playback == nil || r.VOD == nil || r.VOD.Poster == "" {
		return ""
	}
	return l.cfg.Playback.URL("", t, r.VOD.Prefix, r.VOD.Prefix+r.VOD.Poster, l.cfg.PlaybackTTL)
}
