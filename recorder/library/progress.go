package library

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// MaxStatements is the most statements one POST may carry.
const MaxStatements = 100

// statementDoc is a stored statement; insert-only.
type statementDoc struct {
	DocID     string    `bson:"_id"`
	ID        string    `bson:"id"`
	User      string    `bson:"user"`
	Recording string    `bson:"recording"`
	Verb      string    `bson:"verb"`
	Segments  []Segment `bson:"segments,omitempty"`
	Length    float64   `bson:"length,omitempty"`
	// JSON is the normalised statement as forwarded to an LRS.
	JSON   string    `bson:"json"`
	Stored time.Time `bson:"stored"`
}

// RecordStatements stores statements posted by learner user (display name
// name), updates their progress, completes lessons and courses, issues
// certificates and queues the statements for the tenant's LRS. It returns
// the statement IDs in order. Statements are checked before any is stored:
// one bad statement rejects the batch (ErrInvalid, or ErrNotFound for a
// recording the tenant does not have).
func (l *Library) RecordStatements(ctx context.Context, t tenant.ID, user, name string, sts []Statement) ([]string, error) {
	if user == "" {
		return nil, fmt.Errorf("%w: no learner", ErrInvalid)
	}
	if len(sts) == 0 || len(sts) > MaxStatements {
		return nil, fmt.Errorf("%w: %d statements, want 1-%d", ErrInvalid, len(sts), MaxStatements)
	}
	now := l.cfg.Now()
	docs := make([]statementDoc, len(sts))
	recs := map[string]Recording{}
	for i := range sts {
		st := &sts[i]
		recID, err := st.normalize(l.cfg.HomePage, user, name, now)
		if err != nil {
			statementsTotal.WithLabelValues("invalid").Inc()
			return nil, fmt.Errorf("statement %d: %w", i, err)
		}
		if _, ok := recs[recID]; !ok {
			r, err := l.Recording(ctx, t, recID)
			if err != nil {
				statementsTotal.WithLabelValues("invalid").Inc()
				return nil, fmt.Errorf("statement %d: %w", i, err)
			}
			recs[recID] = r
		}
		segs, _ := st.playedSegments() // validated by normalize
		b, err := json.Marshal(st)
		if err != nil {
			return nil, fmt.Errorf("library: encode statement: %w", err)
		}
		docs[i] = statementDoc{
			DocID: docID(t, st.ID), ID: st.ID, User: user, Recording: recID, Verb: videoVerbs[st.Verb.ID],
			Segments: segs, Length: st.length(), JSON: string(b), Stored: now.UTC(),
		}
	}
	ids := make([]string, len(docs))
	touched := map[string]bool{}
	for i, d := range docs {
		ids[i] = d.ID
		if err := l.stmts.Tenant(t).InsertOne(ctx, d); err != nil {
			if !errors.Is(wrapStore(err, ""), ErrConflict) {
				return nil, wrapStore(err, "statement")
			}
			// The same statement again (a retried POST) is accepted once.
			var prev statementDoc
			if err := l.stmts.Tenant(t).FindOne(ctx, byID(d.DocID), &prev); err != nil || prev.User != user {
				return nil, fmt.Errorf("%w: statement %s", ErrConflict, d.ID)
			}
			statementsTotal.WithLabelValues("duplicate").Inc()
			continue
		}
		statementsTotal.WithLabelValues(d.Verb).Inc()
		touched[d.Recording] = true
		l.fwd.enqueue(t, d.JSON)
	}
	for recID := range touched {
		if err := l.checkCourses(ctx, t, user, recID); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// Progress computes a learner's progress on a recording from every
// statement they posted about it. It is never cached: statements are only
// ever inserted, so the union read here is always complete, while a cached
// value written by two concurrent requests could go backwards.
func (l *Library) Progress(ctx context.Context, t tenant.ID, user, recording string) (Progress, error) {
	r, err := l.Recording(ctx, t, recording)
	if err != nil {
		return Progress{}, err
	}
	return l.progressOf(ctx, t, user, r)
}

func (l *Library) progressOf(ctx context.Context, t tenant.ID, user string, r Recording) (Progress, error) {
	var docs []statementDoc
	err := l.stmts.Tenant(t).Find(ctx, bson.D{{Key: "user", Value: user}, {Key: "recording", Value: r.ID}}, &docs,
		options.Find().SetProjection(bson.D{{Key: "segments", Value: 1}, {Key: "length", Value: 1}, {Key: "stored", Value: 1}}))
	if err != nil {
		return Progress{}, wrapStore(err, "statements")
	}
	duration := r.Duration
	sets := make([][]Segment, 0, len(docs))
	var last time.Time
	for _, d := range docs {
		sets = append(sets, d.Segments)
		if d.Stored.After(last) {
			last = d.Stored
		}
		if r.Duration <= 0 {
			// Not packaged yet (or an external video): fall back to the
			// length the player reported.
			duration = max(duration, d.Length)
		}
	}
	segs := Union(duration, sets...)
	if segs == nil {
		segs = []Segment{}
	}
	return Progress{User: user, Recording: r.ID, Segments: segs, Duration: duration,
		Fraction: Coverage(segs, duration), UpdatedAt: last}, nil
}

// CourseProgress computes a learner's state in a course.
func (l *Library) CourseProgress(ctx context.Context, t tenant.ID, courseID, user string) (CourseProgress, error) {
	c, err := l.Course(ctx, t, courseID)
	if err != nil {
		return CourseProgress{}, err
	}
	cp := CourseProgress{Course: c.ID, User: user, Threshold: l.threshold(&c), Lessons: []LessonProgress{}}
	if _, err := l.Enrolment(ctx, t, courseID, user); err == nil {
		cp.Enrolled = true
	} else if !errors.Is(err, ErrNotEnrolled) {
		return cp, err
	}
	cp.Complete = len(c.Lessons) > 0
	for _, ls := range c.Lessons {
		p, err := l.Progress(ctx, t, user, ls.Recording)
		if errors.Is(err, ErrNotFound) {
			p = Progress{} // the recording is gone: the lesson cannot be done
		} else if err != nil {
			return cp, err
		}
		lp := LessonProgress{Recording: ls.Recording, Title: ls.Title, Fraction: p.Fraction, Complete: p.Fraction >= cp.Threshold}
		cp.Complete = cp.Complete && lp.Complete
		cp.Lessons = append(cp.Lessons, lp)
	}
	if cert, err := l.certificateOf(ctx, t, courseID, user); err == nil {
		cp.Certificate = &cert
	} else if !errors.Is(err, ErrNotFound) {
		return cp, err
	}
	return cp, nil
}

// checkCourses issues certificates for every course containing recording
// that the learner is enrolled in and has now completed.
func (l *Library) checkCourses(ctx context.Context, t tenant.ID, user, recording string) error {
	var ls []lessonDoc
	if err := l.less.Tenant(t).Find(ctx, bson.D{{Key: "recording", Value: recording}}, &ls); err != nil {
		return wrapStore(err, "lessons")
	}
	for _, d := range ls {
		cp, err := l.CourseProgress(ctx, t, d.Course, user)
		if err != nil {
			return err
		}
		if !cp.Enrolled || !cp.Complete || cp.Certificate != nil {
			continue
		}
		if _, err := l.issueCertificate(ctx, t, d.Course, user); err != nil {
			return err
		}
	}
	return nil
}
