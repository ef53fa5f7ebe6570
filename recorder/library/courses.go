package library

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// colLessons holds one document per lesson (course, recording), so that two
// recordings of a track finishing at once both become lessons: inserts are
// atomic on every store backend, read-modify-write of an array is not on
// the embedded one.
const colLessons = "library_lessons"

type courseDoc struct {
	DocID  string `bson:"_id"`
	Course `bson:",inline"`
}

type lessonDoc struct {
	DocID    string  `bson:"_id"`
	Course   string  `bson:"course"`
	Position float64 `bson:"position"`
	Lesson   `bson:",inline"`
}

// Limits on course fields.
const (
	maxTitle       = 300
	maxDescription = 10000
	maxLessons     = 500
)

func (c *Course) validate() error {
	c.Title = strings.TrimSpace(c.Title)
	if c.Title == "" || len(c.Title) > maxTitle {
		return fmt.Errorf("%w: course title must have 1-%d characters", ErrInvalid, maxTitle)
	}
	if len(c.Description) > maxDescription {
		return fmt.Errorf("%w: course description longer than %d", ErrInvalid, maxDescription)
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		return fmt.Errorf("%w: threshold %v not in (0, 1]", ErrInvalid, c.Threshold)
	}
	if len(c.Lessons) > maxLessons {
		return fmt.Errorf("%w: more than %d lessons", ErrInvalid, maxLessons)
	}
	seen := map[string]bool{}
	for i, ls := range c.Lessons {
		if err := validID("recording", ls.Recording); err != nil {
			return err
		}
		if seen[ls.Recording] {
			return fmt.Errorf("%w: recording %s twice in one course", ErrInvalid, ls.Recording)
		}
		seen[ls.Recording] = true
		if len(ls.Title) > maxTitle {
			return fmt.Errorf("%w: lesson %d title longer than %d", ErrInvalid, i, maxTitle)
		}
	}
	return nil
}

// CreateCourse creates a course; an empty ID gets a random one. Lessons
// given are added in order.
func (l *Library) CreateCourse(ctx context.Context, t tenant.ID, c Course) (Course, error) {
	if c.ID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		c.ID = "c-" + hex.EncodeToString(b[:])
	}
	if err := validID("course", c.ID); err != nil {
		return c, err
	}
	if err := c.validate(); err != nil {
		return c, err
	}
	now := l.cfg.Now().UTC()
	c.CreatedAt, c.UpdatedAt = now, now
	lessons := c.Lessons
	c.Lessons = nil
	if err := l.crs.Tenant(t).InsertOne(ctx, courseDoc{DocID: docID(t, c.ID), Course: c}); err != nil {
		return c, wrapStore(err, "course "+c.ID)
	}
	// Only the given lessons are written: the course is new, so it has no
	// others to remove, and removing "the others" here deleted lessons that
	// a concurrent packaging had just added to a track course created this
	// moment (TestTrackCoursesAndConcurrentLessons, now and then).
	if _, err := l.putLessons(ctx, t, c.ID, lessons); err != nil {
		return c, err
	}
	return l.Course(ctx, t, c.ID)
}

// EnsureTrackCourse returns the default course of a schedule track,
// creating it (titled after the track) on first use.
func (l *Library) EnsureTrackCourse(ctx context.Context, t tenant.ID, track string) (Course, error) {
	id := "track-" + slug(track)
	c, err := l.Course(ctx, t, id)
	if err == nil {
		return c, nil
	}
	title := strings.TrimSpace(track)
	if len(title) > maxTitle {
		title = title[:maxTitle]
	}
	c, err = l.CreateCourse(ctx, t, Course{ID: id, Title: title, Track: track})
	if err == nil || !isConflict(err) {
		return c, err
	}
	return l.Course(ctx, t, id) // created concurrently
}

// Course returns a course with its lessons in order.
func (l *Library) Course(ctx context.Context, t tenant.ID, id string) (Course, error) {
	var d courseDoc
	if err := l.crs.Tenant(t).FindOne(ctx, byID(docID(t, id)), &d); err != nil {
		return Course{}, wrapStore(err, "course "+id)
	}
	ls, err := l.lessons(ctx, t, id)
	if err != nil {
		return Course{}, err
	}
	d.Course.Lessons = ls
	return d.Course, nil
}

// Courses lists the tenant's courses with their lessons.
func (l *Library) Courses(ctx context.Context, t tenant.ID) ([]Course, error) {
	var docs []courseDoc
	if err := l.crs.Tenant(t).Find(ctx, nil, &docs, options.Find().SetSort(bson.D{{Key: "title", Value: 1}})); err != nil {
		return nil, wrapStore(err, "courses")
	}
	var all []lessonDoc
	if err := l.less.Tenant(t).Find(ctx, nil, &all, options.Find().SetSort(bson.D{{Key: "position", Value: 1}})); err != nil {
		return nil, wrapStore(err, "lessons")
	}
	by := map[string][]Lesson{}
	for _, d := range all {
		by[d.Course] = append(by[d.Course], d.Lesson)
	}
	out := make([]Course, len(docs))
	for i, d := range docs {
		out[i] = d.Course
		out[i].Lessons = by[d.ID]
		if out[i].Lessons == nil {
			out[i].Lessons = []Lesson{}
		}
	}
	return out, nil
}

// UpdateCourse replaces a course's title, description, threshold and lesson
// list (in the given order) with c's.
func (l *Library) UpdateCourse(ctx context.Context, t tenant.ID, c Course) (Course, error) {
	if err := c.validate(); err != nil {
		return c, err
	}
	ok, err := l.crs.Tenant(t).UpdateOne(ctx, byID(docID(t, c.ID)), bson.D{{Key: "$set", Value: bson.D{
		{Key: "title", Value: c.Title}, {Key: "description", Value: c.Description},
		{Key: "threshold", Value: c.Threshold}, {Key: "updated_at", Value: l.cfg.Now().UTC()},
	}}}, false)
	if err != nil {
		return c, wrapStore(err, "course "+c.ID)
	}
	if !ok {
		return c, fmt.Errorf("%w: course %s", ErrNotFound, c.ID)
	}
	if c.Lessons != nil {
		if err := l.setLessons(ctx, t, c.ID, c.Lessons); err != nil {
			return c, err
		}
	}
	return l.Course(ctx, t, c.ID)
}

// AddLesson appends a lesson to a course; adding a recording the course
// already has is a no-op.
func (l *Library) AddLesson(ctx context.Context, t tenant.ID, courseID string, ls Lesson) error {
	if err := validID("recording", ls.Recording); err != nil {
		return err
	}
	err := l.less.Tenant(t).InsertOne(ctx, lessonDoc{
		DocID: docID(t, courseID, ls.Recording), Course: courseID,
		Position: float64(l.cfg.Now().UnixNano()), Lesson: ls,
	})
	if err != nil && !isConflict(wrapStore(err, "")) {
		return wrapStore(err, "lesson "+ls.Recording)
	}
	return nil
}

// setLessons makes the course's lessons exactly ls, in order.
func (l *Library) setLessons(ctx context.Context, t tenant.ID, courseID string, ls []Lesson) error {
	keep, err := l.putLessons(ctx, t, courseID, ls)
	if err != nil {
		return err
	}
	_, err = l.less.Tenant(t).DeleteMany(ctx, bson.D{{Key: "course", Value: courseID}, {Key: "_id", Value: bson.D{{Key: "$nin", Value: keep}}}})
	return wrapStore(err, "lessons of "+courseID)
}

// putLessons writes ls as the course's lessons at positions 0, 1, …,
// leaving its other lessons alone, and returns their document IDs.
func (l *Library) putLessons(ctx context.Context, t tenant.ID, courseID string, ls []Lesson) ([]string, error) {
	sc := l.less.Tenant(t)
	ids := make([]string, 0, len(ls))
	for i, lesson := range ls {
		id := docID(t, courseID, lesson.Recording)
		ids = append(ids, id)
		if _, err := sc.ReplaceOne(ctx, byID(id), lessonDoc{DocID: id, Course: courseID, Position: float64(i), Lesson: lesson}, true); err != nil {
			return nil, wrapStore(err, "lesson "+lesson.Recording)
		}
	}
	return ids, nil
}

func (l *Library) lessons(ctx context.Context, t tenant.ID, courseID string) ([]Lesson, error) {
	var docs []lessonDoc
	if err := l.less.Tenant(t).Find(ctx, bson.D{{Key: "course", Value: courseID}}, &docs,
		options.Find().SetSort(bson.D{{Key: "position", Value: 1}})); err != nil {
		return nil, wrapStore(err, "lessons of "+courseID)
	}
	out := make([]Lesson, len(docs))
	for i, d := range docs {
		out[i] = d.Lesson
	}
	return out, nil
}

// Enrol enrols user (display name name) in a course; enrolling twice is a
// no-op. A learner who already completed every lesson is certified at once.
func (l *Library) Enrol(ctx context.Context, t tenant.ID, courseID, user, name string) error {
	if user == "" {
		return fmt.Errorf("%w: no user", ErrInvalid)
	}
	if _, err := l.Course(ctx, t, courseID); err != nil {
		return err
	}
	err := l.enr.Tenant(t).InsertOne(ctx, enrolmentDoc{DocID: docID(t, courseID, user), Enrolment: Enrolment{
		Course: courseID, User: user, Name: name, EnrolledAt: l.cfg.Now().UTC(),
	}})
	if err != nil && !isConflict(wrapStore(err, "")) {
		return wrapStore(err, "enrolment")
	}
	// Lessons watched before enrolling count: complete now, certify now.
	cp, err := l.CourseProgress(ctx, t, courseID, user)
	if err != nil {
		return err
	}
	if cp.Complete && cp.Certificate == nil {
		_, err = l.issueCertificate(ctx, t, courseID, user)
	}
	return err
}

// Enrolment returns a learner's enrolment in a course.
func (l *Library) Enrolment(ctx context.Context, t tenant.ID, courseID, user string) (Enrolment, error) {
	var d enrolmentDoc
	err := l.enr.Tenant(t).FindOne(ctx, byID(docID(t, courseID, user)), &d)
	if err != nil && isNotFound(wrapStore(err, "")) {
		return Enrolment{}, fmt.Errorf("%w: %s in %s", ErrNotEnrolled, user, courseID)
	}
	return d.Enrolment, wrapStore(err, "enrolment")
}

type enrolmentDoc struct {
	DocID     string `bson:"_id"`
	Enrolment `bson:",inline"`
}

// slug turns a track name into an ID part: lower-case letters and digits
// joined by single dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if len(out) > 100 {
		out = out[:100]
	}
	if out == "" {
		out = "untitled"
	}
	return out
}
