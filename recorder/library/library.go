package library

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Collection names.
const (
	colRecordings   = "library_recordings"
	colCourses      = "library_courses"
	colEnrolments   = "library_enrolments"
	colStatements   = "library_statements"
	colCertificates = "library_certificates"
	colLRS          = "library_lrs"
	// colCodes is the one system collection: public certificate code →
	// tenant, so that GET /v1/certificates/{code} can find the tenant
	// before it may read any tenant data.
	colCodes = "certificate_codes"
)

// DefaultThreshold is the played fraction that completes a lesson.
const DefaultThreshold = 0.9

// PlaybackSigner signs playback URLs; *playback.Signer implements it.
type PlaybackSigner interface {
	URL(base string, t tenant.ID, prefix, file string, ttl time.Duration) string
}

// Config tunes a Library. Zero fields take the defaults given on each.
type Config struct {
	// CompletionThreshold is the played fraction that completes a lesson.
	// Default 0.9.
	CompletionThreshold float64
	// HomePage is the xAPI account home page that learner accounts are
	// given in statements. Default "urn:plenary".
	HomePage string
	// Issuer names the certificate's issuer on the PDF. Default "Plenary".
	Issuer string
	// PublicURL is the site's base URL, printed on certificates next to
	// the verification path. Default: the path alone.
	PublicURL string
	// Playback, when set, lets GET /v1/library/recordings/{id} return a
	// signed master playlist URL valid for PlaybackTTL (default 6h).
	Playback    PlaybackSigner
	PlaybackTTL time.Duration
	// LRSTimeout bounds one forwarding request. Default 10s.
	LRSTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.CompletionThreshold <= 0 || c.CompletionThreshold > 1 {
		c.CompletionThreshold = DefaultThreshold
	}
	if c.HomePage == "" {
		c.HomePage = "urn:plenary"
	}
	if c.Issuer == "" {
		c.Issuer = "Plenary"
	}
	if c.PlaybackTTL <= 0 {
		c.PlaybackTTL = 6 * time.Hour
	}
	if c.LRSTimeout <= 0 {
		c.LRSTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Library is the tenant-scoped recording library and LMS.
type Library struct {
	cfg   Config
	log   *slog.Logger
	recs  *store.Collection
	crs   *store.Collection
	less  *store.Collection
	enr   *store.Collection
	stmts *store.Collection
	certs *store.Collection
	lrs   *store.Collection
	codes *mongo.Collection
	fwd   *forwarder
}

// New opens the library on s and creates its indexes.
func New(ctx context.Context, s *store.Store, cfg Config, log *slog.Logger) (*Library, error) {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	l := &Library{
		cfg:   cfg,
		log:   log.With("component", "library"),
		recs:  s.Collection(colRecordings),
		crs:   s.Collection(colCourses),
		less:  s.Collection(colLessons),
		enr:   s.Collection(colEnrolments),
		stmts: s.Collection(colStatements),
		certs: s.Collection(colCertificates),
		lrs:   s.Collection(colLRS),
		codes: s.System(colCodes),
	}
	l.fwd = newForwarder(l)
	idx := func(c *store.Collection, keys bson.D, unique bool) error {
		m := mongo.IndexModel{Keys: keys}
		if unique {
			m.Options = options.Index().SetUnique(true)
		}
		return c.EnsureIndexes(ctx, m)
	}
	err := errors.Join(
		idx(l.recs, bson.D{{Key: "id", Value: 1}}, true),
		idx(l.recs, bson.D{{Key: "session", Value: 1}}, false),
		idx(l.crs, bson.D{{Key: "id", Value: 1}}, true),
		idx(l.less, bson.D{{Key: "course", Value: 1}, {Key: "position", Value: 1}}, false),
		idx(l.enr, bson.D{{Key: "user", Value: 1}}, false),
		idx(l.stmts, bson.D{{Key: "user", Value: 1}, {Key: "recording", Value: 1}}, false),
	)
	if err != nil {
		return nil, fmt.Errorf("library: %w", err)
	}
	return l, nil
}

// docID makes a document _id unique across tenants.
func docID(t tenant.ID, parts ...string) string {
	id := string(t)
	for _, p := range parts {
		id += "/" + p
	}
	return id
}

// byID is the filter on a document _id.
func byID(id string) bson.D { return bson.D{{Key: "_id", Value: id}} }

// wrapStore maps store errors onto the library's sentinels.
func wrapStore(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case store.IsNotFound(err):
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	case store.IsDuplicate(err):
		return fmt.Errorf("%w: %s", ErrConflict, what)
	}
	return fmt.Errorf("library: %s: %w", what, err)
}

func isConflict(err error) bool { return errors.Is(err, ErrConflict) }
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// threshold is the completion threshold of course c.
func (l *Library) threshold(c *Course) float64 {
	if c != nil && c.Threshold > 0 && c.Threshold <= 1 {
		return c.Threshold
	}
	return l.cfg.CompletionThreshold
}
