package library

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// maxBody bounds request bodies (100 statements with long played-segments
// fit comfortably).
const maxBody = 2 << 20

// Register adds the library's routes to mux. authn must be the auth
// middleware (it puts verified claims in the request context); the
// certificate verification routes are public and are not wrapped.
//
//	POST /v1/xapi/statements                   learner's statements (xAPI)
//	GET  /v1/certificates/{code}               public verification (JSON)
//	GET  /v1/certificates/{code}/pdf           public certificate PDF
//	GET  /v1/library/recordings                recordings (?session=guid)
//	GET  /v1/library/recordings/{id}           one, with signed playback URL and own progress
//	GET  /v1/library/courses                   courses
//	POST /v1/library/courses                   create (organizer)
//	GET  /v1/library/courses/{id}              course with own progress
//	PUT  /v1/library/courses/{id}              edit title, threshold, lessons (organizer)
//	POST /v1/library/courses/{id}/enrol        enrol oneself
//	GET  /v1/library/lrs, PUT /v1/library/lrs  tenant LRS settings (organizer)
func (l *Library) Register(mux *http.ServeMux, authn func(http.Handler) http.Handler) {
	mux.HandleFunc("GET /v1/certificates/{code}", l.getCertificate)
	mux.HandleFunc("GET /v1/certificates/{code}/pdf", l.getCertificatePDF)
	user := func(h http.HandlerFunc) http.Handler { return authn(h) }
	organizer := func(h http.HandlerFunc) http.Handler { return authn(auth.RequireRole(auth.RoleOrganizer)(h)) }
	mux.Handle("POST /v1/xapi/statements", user(l.postStatements))
	mux.Handle("GET /v1/library/recordings", user(l.listRecordings))
	mux.Handle("GET /v1/library/recordings/{id}", user(l.getRecording))
	mux.Handle("GET /v1/library/courses", user(l.listCourses))
	mux.Handle("POST /v1/library/courses", organizer(l.createCourse))
	mux.Handle("GET /v1/library/courses/{id}", user(l.getCourse))
	mux.Handle("PUT /v1/library/courses/{id}", organizer(l.updateCourse))
	mux.Handle("POST /v1/library/courses/{id}/enrol", user(l.enrol))
	mux.Handle("GET /v1/library/lrs", organizer(l.getLRS))
	mux.Handle("PUT /v1/library/lrs", organizer(l.putLRS))
}

// claims returns the verified caller or answers 401.
func claims(w http.ResponseWriter, r *http.Request) (*auth.Claims, bool) {
	c, ok := auth.ClaimsFrom(r.Context())
	if !ok || !c.Tenant.Valid() || c.Subject == "" {
		auth.WriteError(w, auth.ErrMissingToken)
		return nil, false
	}
	return c, true
}

func (l *Library) postStatements(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	w.Header().Set("X-Experience-API-Version", XAPIVersion)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeErr(w, http.StatusRequestEntityTooLarge, protocol.CodeInvalidPayload, "body too large")
		return
	}
	sts, err := decodeStatements(body)
	if err != nil {
		l.fail(w, err)
		return
	}
	ids, err := l.RecordStatements(r.Context(), c.Tenant, c.Subject, c.Name, sts)
	if err != nil {
		l.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ids)
}

// certificateView is the public verification answer.
type certificateView struct {
	Valid       bool         `json:"valid"`
	Certificate *Certificate `json:"certificate"`
	PDF         string       `json:"pdf"`
}

func (l *Library) getCertificate(w http.ResponseWriter, r *http.Request) {
	cert, err := l.VerifyCertificate(r.Context(), r.PathValue("code"))
	if err != nil {
		l.fail(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, certificateView{Valid: true, Certificate: &cert, PDF: "/v1/certificates/" + cert.Code + "/pdf"})
}

func (l *Library) getCertificatePDF(w http.ResponseWriter, r *http.Request) {
	cert, err := l.VerifyCertificate(r.Context(), r.PathValue("code"))
	if err != nil {
		l.fail(w, err)
		return
	}
	pdf := l.CertificatePDF(cert)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="certificate-`+cert.Code+`.pdf"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(pdf)
}

// recordingView adds signed URLs and the caller's progress to a recording.
type recordingView struct {
	Recording
	PlaybackURL string    `json:"playback_url,omitempty"`
	PosterURL   string    `json:"poster_url,omitempty"`
	Activity    string    `json:"activity"`
	Progress    *Progress `json:"progress,omitempty"`
}

func (l *Library) view(t tenant.ID, r Recording) recordingView {
	return recordingView{Recording: r, PlaybackURL: l.PlaybackURL(t, r), PosterURL: l.PosterURL(t, r), Activity: RecordingActivity(r.ID)}
}

func (l *Library) listRecordings(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	recs, err := l.Recordings(r.Context(), c.Tenant, r.URL.Query().Get("session"))
	if err != nil {
		l.fail(w, err)
		return
	}
	out := make([]recordingView, 0, len(recs))
	for _, rec := range recs {
		out = append(out, l.view(c.Tenant, rec))
	}
	writeJSON(w, http.StatusOK, out)
}

func (l *Library) getRecording(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	rec, err := l.Recording(r.Context(), c.Tenant, r.PathValue("id"))
	if err != nil {
		l.fail(w, err)
		return
	}
	v := l.view(c.Tenant, rec)
	p, err := l.Progress(r.Context(), c.Tenant, c.Subject, rec.ID)
	if err != nil {
		l.fail(w, err)
		return
	}
	v.Progress = &p
	writeJSON(w, http.StatusOK, v)
}

func (l *Library) listCourses(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	cs, err := l.Courses(r.Context(), c.Tenant)
	if err != nil {
		l.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

// courseView is a course with the caller's progress in it.
type courseView struct {
	Course
	Progress CourseProgress `json:"progress"`
}

func (l *Library) getCourse(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	course, err := l.Course(r.Context(), c.Tenant, r.PathValue("id"))
	if err != nil {
		l.fail(w, err)
		return
	}
	cp, err := l.CourseProgress(r.Context(), c.Tenant, course.ID, c.Subject)
	if err != nil {
		l.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, courseView{Course: course, Progress: cp})
}

func (l *Library) createCourse(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	var in Course
	if !readJSON(w, r, &in) {
		return
	}
	out, err := l.CreateCourse(r.Context(), c.Tenant, in)
	if err != nil {
		l.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (l *Library) updateCourse(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	var in Course
	if !readJSON(w, r, &in) {
		return
	}
	in.ID = r.PathValue("id")
	out, err := l.UpdateCourse(r.Context(), c.Tenant, in)
	if err != nil {
		l.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (l *Library) enrol(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if err := l.Enrol(r.Context(), c.Tenant, id, c.Subject, c.Name); err != nil {
		l.fail(w, err)
		return
	}
	cp, err := l.CourseProgress(r.Context(), c.Tenant, id, c.Subject)
	if err != nil {
		l.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cp)
}

func (l *Library) getLRS(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	cfg, err := l.LRS(r.Context(), c.Tenant)
	if err != nil {
		l.fail(w, err)
		return
	}
	cfg.Password = ""
	writeJSON(w, http.StatusOK, cfg)
}

func (l *Library) putLRS(w http.ResponseWriter, r *http.Request) {
	c, ok := claims(w, r)
	if !ok {
		return
	}
	var in LRSConfig
	if !readJSON(w, r, &in) {
		return
	}
	if err := l.SetLRS(r.Context(), c.Tenant, in); err != nil {
		l.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail maps library errors to HTTP answers.
func (l *Library) fail(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeErr(w, http.StatusNotFound, protocol.CodeNotFound, "not found")
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrSegments):
		writeErr(w, http.StatusBadRequest, protocol.CodeInvalidPayload, err.Error())
	case errors.Is(err, ErrConflict):
		writeErr(w, http.StatusConflict, protocol.CodeInvalidPayload, err.Error())
	case errors.Is(err, ErrNotEnrolled):
		writeErr(w, http.StatusForbidden, protocol.CodeForbidden, err.Error())
	default:
		l.log.Error("library request failed", "err", err)
		writeErr(w, http.StatusInternalServerError, protocol.CodeInternal, "internal error")
	}
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, protocol.CodeInvalidPayload, "invalid JSON: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]protocol.Error{"error": {Code: code, Message: msg, Retryable: status >= 500}})
}
