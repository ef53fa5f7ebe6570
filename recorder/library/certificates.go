package library

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// crockford is Crockford's base-32 alphabet: no I, L, O or U, so codes read
// aloud or retyped do not get confused.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeChars is the length of a certificate code without dashes: 80 random
// bits, far beyond guessing.
const codeChars = 16

type certificateDoc struct {
	DocID       string `bson:"_id"`
	Certificate `bson:",inline"`
}

// codeDoc is the system index entry of a code: which tenant and which
// certificate document it belongs to, nothing else.
type codeDoc struct {
	Code        string `bson:"_id"`
	Tenant      string `bson:"tenant"`
	Certificate string `bson:"certificate"`
}

// newCode returns a random code "XXXX-XXXX-XXXX-XXXX".
func newCode() string {
	var b [codeChars]byte
	_, _ = rand.Read(b[:])
	var s strings.Builder
	for i, c := range b {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(crockford[c&31])
	}
	return s.String()
}

// NormalizeCode canonicalises a code as typed by a person: case, spaces and
// dashes do not matter, and O, I and L read as 0, 1 and 1. It reports false
// for anything that cannot be a code.
func NormalizeCode(in string) (string, bool) {
	var raw []byte
	for _, r := range strings.ToUpper(in) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 127 || !strings.ContainsRune(crockford, r) {
			return "", false
		}
		raw = append(raw, byte(r))
	}
	if len(raw) != codeChars {
		return "", false
	}
	var s strings.Builder
	for i, c := range raw {
		if i > 0 && i%4 == 0 {
			s.WriteByte('-')
		}
		s.WriteByte(c)
	}
	return s.String(), true
}

// issueCertificate issues the learner's certificate for a course exactly
// once: the document ID is (tenant, course, user), so of two concurrent
// issuers one insert wins and the other reads the winner's certificate.
func (l *Library) issueCertificate(ctx context.Context, t tenant.ID, courseID, user string) (Certificate, error) {
	c, err := l.Course(ctx, t, courseID)
	if err != nil {
		return Certificate{}, err
	}
	e, err := l.Enrolment(ctx, t, courseID, user)
	if err != nil {
		return Certificate{}, err
	}
	name := e.Name
	if name == "" {
		name = user
	}
	cert := Certificate{
		Code: newCode(), User: user, Name: name, Course: courseID, CourseTitle: c.Title,
		Lessons: len(c.Lessons), IssuedAt: l.cfg.Now().UTC(),
	}
	id := docID(t, courseID, user)
	if err := l.certs.Tenant(t).InsertOne(ctx, certificateDoc{DocID: id, Certificate: cert}); err != nil {
		if !isConflict(wrapStore(err, "")) {
			return Certificate{}, wrapStore(err, "certificate")
		}
		if cert, err = l.certificateOf(ctx, t, courseID, user); err != nil {
			return Certificate{}, err
		}
	} else {
		certificatesIssued.Inc()
		l.log.Info("certificate issued", "tenant", t, "course", courseID, "user", user)
	}
	cert.Tenant = string(t)
	return cert, l.indexCode(ctx, t, cert.Code, id)
}

// indexCode records code → tenant in the system index; an existing entry
// for the same certificate is fine (a retry after a crash).
func (l *Library) indexCode(ctx context.Context, t tenant.ID, code, certID string) error {
	_, err := l.codes.InsertOne(ctx, codeDoc{Code: code, Tenant: string(t), Certificate: certID})
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("library: index certificate code: %w", err)
	}
	return nil
}

// certificateOf returns a learner's certificate for a course, making sure
// its code is indexed.
func (l *Library) certificateOf(ctx context.Context, t tenant.ID, courseID, user string) (Certificate, error) {
	var d certificateDoc
	id := docID(t, courseID, user)
	if err := l.certs.Tenant(t).FindOne(ctx, byID(id), &d); err != nil {
		return Certificate{}, wrapStore(err, "certificate")
	}
	d.Tenant = string(t)
	return d.Certificate, l.indexCode(ctx, t, d.Code, id)
}

// VerifyCertificate looks a public code up. It needs no tenant: the code
// index names it. Unknown or malformed codes are ErrNotFound.
func (l *Library) VerifyCertificate(ctx context.Context, code string) (Certificate, error) {
	norm, ok := NormalizeCode(code)
	if !ok {
		return Certificate{}, fmt.Errorf("%w: certificate", ErrNotFound)
	}
	var cd codeDoc
	if err := l.codes.FindOne(ctx, bson.D{{Key: "_id", Value: norm}}).Decode(&cd); err != nil {
		if errors.Is(err, mongo.ErrNoDocuments) {
			return Certificate{}, fmt.Errorf("%w: certificate", ErrNotFound)
		}
		return Certificate{}, fmt.Errorf("library: certificate code: %w", err)
	}
	t, err := tenant.Parse(cd.Tenant)
	if err != nil {
		return Certificate{}, fmt.Errorf("%w: certificate", ErrNotFound)
	}
	var d certificateDoc
	if err := l.certs.Tenant(t).FindOne(ctx, byID(cd.Certificate), &d); err != nil {
		return Certificate{}, wrapStore(err, "certificate")
	}
	if d.Code != norm {
		return Certificate{}, fmt.Errorf("%w: certificate", ErrNotFound)
	}
	d.Tenant = string(t)
	return d.Certificate, nil
}

// CertificatePDF renders a certificate as a one-page PDF.
func (l *Library) CertificatePDF(c Certificate) []byte {
	verify := strings.TrimSuffix(l.cfg.PublicURL, "/") + "/v1/certificates/" + c.Code
	return certificatePDF(certificateText{
		Issuer:  l.cfg.Issuer,
		Name:    c.Name,
		Course:  c.CourseTitle,
		Lessons: c.Lessons,
		Date:    c.IssuedAt.Format("2 January 2006"),
		Code:    c.Code,
		Verify:  verify,
	}, c.IssuedAt)
}
