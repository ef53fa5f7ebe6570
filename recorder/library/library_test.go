package library_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder/library"
)

var (
	acme = tenant.MustParse("acme")
	beta = tenant.MustParse("beta")
)

// env is a library on an embedded store, served over HTTP with a test
// authenticator that trusts X-Test-* headers.
type env struct {
	lib *library.Library
	srv *httptest.Server
}

func newEnv(t *testing.T, cfg library.Config) *env {
	t.Helper()
	s := storetest.Open(t)
	lib, err := library.New(context.Background(), s, cfg, nil)
	require.NoError(t, err)
	mux := http.NewServeMux()
	authn := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tn, err := tenant.Parse(r.Header.Get("X-Test-Tenant"))
			if err != nil {
				auth.WriteError(w, auth.ErrMissingToken)
				return
			}
			role, err := auth.ParseRole(r.Header.Get("X-Test-Role"))
			if err != nil {
				role = auth.RoleAttendee
			}
			c := &auth.Claims{Tenant: tn, Subject: r.Header.Get("X-Test-User"), Name: r.Header.Get("X-Test-Name"), Role: role}
			h.ServeHTTP(w, r.WithContext(auth.WithClaims(r.Context(), c)))
		})
	}
	lib.Register(mux, authn)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{lib: lib, srv: srv}
}

type caller struct {
	t          tenant.ID
	user, name string
	role       string
}

func (e *env) do(t *testing.T, who caller, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.URL+path, rd)
	require.NoError(t, err)
	if who.t != "" {
		req.Header.Set("X-Test-Tenant", string(who.t))
		req.Header.Set("X-Test-User", who.user)
		req.Header.Set("X-Test-Name", who.name)
		req.Header.Set("X-Test-Role", who.role)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// played builds the statement a player sends after playing segs.
func played(rec string, segs string) map[string]any {
	return map[string]any{
		"actor":  map[string]any{"mbox": "mailto:someone-else@example.com"},
		"verb":   map[string]any{"id": library.VerbPaused},
		"object": map[string]any{"id": library.RecordingActivity(rec), "definition": map[string]any{"type": library.ActivityTypeVideo}},
		"result": map[string]any{"extensions": map[string]any{library.ExtPlayedSegments: segs}},
		"context": map[string]any{"extensions": map[string]any{
			library.ExtLength: 100.0, library.ExtSessionID: "s1",
		}},
	}
}

// addReady registers a packaged recording of the given length.
func addReady(t *testing.T, lib *library.Library, tn tenant.ID, id, track string, dur float64) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, lib.AddRecording(ctx, tn, library.Recording{ID: id, Title: "Talk " + id, Track: track, Session: "guid-" + id}))
	require.NoError(t, lib.Packaged(ctx, tn, id, library.VOD{Prefix: "vod/" + id + "/r1/", Master: "master.m3u8", Poster: "poster.jpg"}, dur))
}

func TestProgressCompletionAndCertificate(t *testing.T) {
	e := newEnv(t, library.Config{PublicURL: "https://events.example"})
	ctx := context.Background()
	addReady(t, e.lib, acme, "rec1", "", 100)
	addReady(t, e.lib, acme, "rec2", "", 200)
	course, err := e.lib.CreateCourse(ctx, acme, library.Course{ID: "intro", Title: "Introduction to Plenary",
		Lessons: []library.Lesson{{Recording: "rec1", Title: "One"}, {Recording: "rec2", Title: "Two"}}})
	require.NoError(t, err)
	require.Len(t, course.Lessons, 2)
	alice := caller{t: acme, user: "u-alice", name: "Alice Zoë Example", role: "attendee"}

	code, body := e.do(t, alice, http.MethodPost, "/v1/library/courses/intro/enrol", nil)
	require.Equal(t, http.StatusOK, code, string(body))

	// 50% of lesson 1 (two overlapping stretches): not complete.
	code, body = e.do(t, alice, http.MethodPost, "/v1/xapi/statements", []any{played("rec1", "0[.]30[,]20[.]50")})
	require.Equal(t, http.StatusOK, code, string(body))
	var ids []string
	require.NoError(t, json.Unmarshal(body, &ids))
	require.Len(t, ids, 1)
	cp, err := e.lib.CourseProgress(ctx, acme, "intro", "u-alice")
	require.NoError(t, err)
	require.InDelta(t, 0.5, cp.Lessons[0].Fraction, 1e-9)
	require.False(t, cp.Lessons[0].Complete, "50% does not complete a lesson")

	// Replaying the first half adds nothing; "completed" is not believed.
	st := played("rec1", "0[.]50")
	st["verb"] = map[string]any{"id": library.VerbCompleted}
	st["result"].(map[string]any)["completion"] = true
	code, _ = e.do(t, alice, http.MethodPost, "/v1/xapi/statements", st)
	require.Equal(t, http.StatusOK, code)
	cp, err = e.lib.CourseProgress(ctx, acme, "intro", "u-alice")
	require.NoError(t, err)
	require.False(t, cp.Lessons[0].Complete)

	// Up to 95%: complete. The course is not, yet.
	code, _ = e.do(t, alice, http.MethodPost, "/v1/xapi/statements", played("rec1", "50[.]95"))
	require.Equal(t, http.StatusOK, code)
	cp, err = e.lib.CourseProgress(ctx, acme, "intro", "u-alice")
	require.NoError(t, err)
	require.InDelta(t, 0.95, cp.Lessons[0].Fraction, 1e-9)
	require.True(t, cp.Lessons[0].Complete, "95% completes a lesson")
	require.False(t, cp.Complete)
	require.Nil(t, cp.Certificate)

	// Lesson 2 in one go (length is the library's 200 s, not the player's
	// claimed 100 s): the course completes and a certificate is issued.
	code, _ = e.do(t, alice, http.MethodPost, "/v1/xapi/statements", played("rec2", "0[.]100"))
	require.Equal(t, http.StatusOK, code)
	cp, err = e.lib.CourseProgress(ctx, acme, "intro", "u-alice")
	require.NoError(t, err)
	require.False(t, cp.Complete, "the recording's own duration counts")
	code, _ = e.do(t, alice, http.MethodPost, "/v1/xapi/statements", played("rec2", "100[.]190"))
	require.Equal(t, http.StatusOK, code)

	code, body = e.do(t, alice, http.MethodGet, "/v1/library/courses/intro", nil)
	require.Equal(t, http.StatusOK, code)
	var view struct {
		Progress library.CourseProgress `json:"progress"`
	}
	require.NoError(t, json.Unmarshal(body, &view))
	require.True(t, view.Progress.Complete)
	require.NotNil(t, view.Progress.Certificate)
	certCode := view.Progress.Certificate.Code
	require.Regexp(t, `^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$`, certCode)

	// Public verification needs no token.
	code, body = e.do(t, caller{}, http.MethodGet, "/v1/certificates/"+certCode, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var v struct {
		Valid       bool                `json:"valid"`
		Certificate library.Certificate `json:"certificate"`
	}
	require.NoError(t, json.Unmarshal(body, &v))
	require.True(t, v.Valid)
	require.Equal(t, "Alice Zoë Example", v.Certificate.Name)
	require.Equal(t, "Introduction to Plenary", v.Certificate.CourseTitle)
	require.Equal(t, "acme", v.Certificate.Tenant)
	require.Equal(t, 2, v.Certificate.Lessons)
	// Typed sloppily: lower case, no dashes.
	code, _ = e.do(t, caller{}, http.MethodGet, "/v1/certificates/"+strings.ToLower(strings.ReplaceAll(certCode, "-", "")), nil)
	require.Equal(t, http.StatusOK, code)

	// Forged codes do not verify.
	forged := []byte(certCode)
	forged[0] = map[bool]byte{true: 'A', false: 'B'}[forged[0] != 'A']
	for _, c := range []string{string(forged), "AAAA-AAAA-AAAA-AAAA", "not-a-code", strings.Repeat("Z", 40)} {
		code, _ = e.do(t, caller{}, http.MethodGet, "/v1/certificates/"+c, nil)
		require.Equal(t, http.StatusNotFound, code, c)
		code, _ = e.do(t, caller{}, http.MethodGet, "/v1/certificates/"+c+"/pdf", nil)
		require.Equal(t, http.StatusNotFound, code, c)
	}

	// The PDF.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/v1/certificates/"+certCode+"/pdf", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	pdf, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	checkPDF(t, pdf)
	require.Contains(t, string(pdf), "(Alice Zo\xeb Example)", "name in WinAnsi")
	require.Contains(t, string(pdf), certCode)
	require.Contains(t, string(pdf), "https://events.example/v1/certificates/"+certCode)

	// Statements are stored with the authenticated learner as actor.
	code, body = e.do(t, alice, http.MethodGet, "/v1/library/recordings/rec1", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"fraction":0.95`)
}

// checkPDF verifies the file's structure: header, every xref offset points
// at its object, startxref points at the xref table, and %%EOF ends it.
func checkPDF(t *testing.T, pdf []byte) {
	t.Helper()
	s := string(pdf)
	require.True(t, strings.HasPrefix(s, "%PDF-1.4\n"))
	require.True(t, strings.HasSuffix(s, "%%EOF\n"))
	m := regexp.MustCompile(`startxref\n(\d+)\n`).FindStringSubmatch(s)
	require.NotNil(t, m)
	xref, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(s[xref:], "xref\n0 8\n"))
	offs := regexp.MustCompile(`(\d{10}) 00000 n `).FindAllStringSubmatch(s[xref:], -1)
	require.Len(t, offs, 7)
	for i, o := range offs {
		n, err := strconv.Atoi(o[1])
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(s[n:], fmt.Sprintf("%d 0 obj\n", i+1)), "object %d at %d", i+1, n)
	}
	lm := regexp.MustCompile(`<< /Length (\d+) >>\nstream\n`).FindStringSubmatchIndex(s)
	require.NotNil(t, lm)
	length, err := strconv.Atoi(s[lm[2]:lm[3]])
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(s[lm[1]+length:], "endstream"), "stream length is exact")
}

func TestThresholdIsConfigurable(t *testing.T) {
	e := newEnv(t, library.Config{CompletionThreshold: 0.5})
	ctx := context.Background()
	addReady(t, e.lib, acme, "rec1", "", 100)
	_, err := e.lib.CreateCourse(ctx, acme, library.Course{ID: "c1", Title: "Half is enough", Lessons: []library.Lesson{{Recording: "rec1"}}})
	require.NoError(t, err)
	_, err = e.lib.CreateCourse(ctx, acme, library.Course{ID: "c2", Title: "Strict", Threshold: 0.99, Lessons: []library.Lesson{{Recording: "rec1"}}})
	require.NoError(t, err)
	_, err = e.lib.RecordStatements(ctx, acme, "bob", "Bob", []library.Statement{stmt(t, played("rec1", "0[.]50"))})
	require.NoError(t, err)
	// Enrolling after watching certifies at once where the work is done.
	require.NoError(t, e.lib.Enrol(ctx, acme, "c1", "bob", "Bob"))
	require.NoError(t, e.lib.Enrol(ctx, acme, "c2", "bob", "Bob"))
	cp1, err := e.lib.CourseProgress(ctx, acme, "c1", "bob")
	require.NoError(t, err)
	require.True(t, cp1.Complete)
	require.NotNil(t, cp1.Certificate)
	cp2, err := e.lib.CourseProgress(ctx, acme, "c2", "bob")
	require.NoError(t, err)
	require.False(t, cp2.Complete)
	require.InDelta(t, 0.99, cp2.Threshold, 1e-9)
}

func stmt(t *testing.T, m map[string]any) library.Statement {
	t.Helper()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var s library.Statement
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := context.Background()
	addReady(t, e.lib, acme, "rec1", "Keynotes", 100)
	addReady(t, e.lib, beta, "rec2", "Keynotes", 100)
	mallory := caller{t: beta, user: "mallory", role: "organizer"}

	// beta cannot post progress on acme's recording, nor see it.
	code, _ := e.do(t, mallory, http.MethodPost, "/v1/xapi/statements", played("rec1", "0[.]100"))
	require.Equal(t, http.StatusNotFound, code)
	code, _ = e.do(t, mallory, http.MethodGet, "/v1/library/recordings/rec1", nil)
	require.Equal(t, http.StatusNotFound, code)
	code, body := e.do(t, mallory, http.MethodGet, "/v1/library/recordings", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "rec1")
	require.Contains(t, string(body), "rec2")

	// Both tenants have a course with the same ID, each their own.
	ca, err := e.lib.Course(ctx, acme, "track-keynotes")
	require.NoError(t, err)
	cb, err := e.lib.Course(ctx, beta, "track-keynotes")
	require.NoError(t, err)
	require.Equal(t, []library.Lesson{{Recording: "rec1", Title: "Talk rec1"}}, ca.Lessons)
	require.Equal(t, []library.Lesson{{Recording: "rec2", Title: "Talk rec2"}}, cb.Lessons)
	code, _ = e.do(t, mallory, http.MethodPut, "/v1/library/courses/track-keynotes",
		library.Course{Title: "Renamed by beta", Lessons: []library.Lesson{{Recording: "rec2"}}})
	require.Equal(t, http.StatusOK, code)
	ca, err = e.lib.Course(ctx, acme, "track-keynotes")
	require.NoError(t, err)
	require.Equal(t, "Keynotes", ca.Title, "acme's course untouched")

	// A statement ID taken in one tenant is free in another; a learner
	// cannot claim another learner's statement in their tenant.
	s := played("rec1", "0[.]10")
	s["id"] = "6f1a2b3c-0000-4000-8000-000000000001"
	code, _ = e.do(t, caller{t: acme, user: "alice"}, http.MethodPost, "/v1/xapi/statements", s)
	require.Equal(t, http.StatusOK, code)
	code, _ = e.do(t, caller{t: acme, user: "alice"}, http.MethodPost, "/v1/xapi/statements", s)
	require.Equal(t, http.StatusOK, code, "a retried POST is accepted")
	code, _ = e.do(t, caller{t: acme, user: "eve"}, http.MethodPost, "/v1/xapi/statements", s)
	require.Equal(t, http.StatusConflict, code)
	s["object"] = map[string]any{"id": library.RecordingActivity("rec2")}
	code, _ = e.do(t, mallory, http.MethodPost, "/v1/xapi/statements", s)
	require.Equal(t, http.StatusOK, code)

	// Organizer-only routes.
	code, _ = e.do(t, caller{t: acme, user: "alice", role: "attendee"}, http.MethodPost, "/v1/library/courses", library.Course{Title: "x"})
	require.Equal(t, http.StatusForbidden, code)
	code, _ = e.do(t, caller{}, http.MethodGet, "/v1/library/courses", nil)
	require.Equal(t, http.StatusUnauthorized, code)
}

func TestStatementValidation(t *testing.T) {
	e := newEnv(t, library.Config{})
	addReady(t, e.lib, acme, "rec1", "", 100)
	alice := caller{t: acme, user: "alice"}
	bad := map[string]func(m map[string]any){
		"verb":   func(m map[string]any) { m["verb"] = map[string]any{"id": "http://adlnet.gov/expapi/verbs/passed"} },
		"object": func(m map[string]any) { m["object"] = map[string]any{"id": "https://example.com/other"} },
		"segments": func(m map[string]any) {
			m["result"] = map[string]any{"extensions": map[string]any{library.ExtPlayedSegments: "0-10"}}
		},
		"type": func(m map[string]any) {
			m["result"] = map[string]any{"extensions": map[string]any{library.ExtPlayedSegments: 12}}
		},
		"id": func(m map[string]any) { m["id"] = "not-a-uuid" },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			m := played("rec1", "0[.]10")
			mutate(m)
			code, body := e.do(t, alice, http.MethodPost, "/v1/xapi/statements", m)
			require.Equal(t, http.StatusBadRequest, code, string(body))
			require.Contains(t, string(body), `"code":4003`)
		})
	}
	code, _ := e.do(t, alice, http.MethodPost, "/v1/xapi/statements", []any{})
	require.Equal(t, http.StatusBadRequest, code)
	// Object IRIs ending in /recordings/{id} are accepted too.
	m := played("rec1", "0[.]10")
	m["object"] = map[string]any{"id": "https://events.example/library/recordings/rec1"}
	code, _ = e.do(t, alice, http.MethodPost, "/v1/xapi/statements", m)
	require.Equal(t, http.StatusOK, code)
}

func TestTrackCoursesAndConcurrentLessons(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			addReady(t, e.lib, acme, fmt.Sprintf("rec%d", i), "Main Track: Security & Privacy", 60)
		}()
	}
	wg.Wait()
	c, err := e.lib.Course(ctx, acme, "track-main-track-security-privacy")
	require.NoError(t, err)
	require.Equal(t, "Main Track: Security & Privacy", c.Title)
	require.Len(t, c.Lessons, 6, "no lesson lost to a race")

	// The organizer removes a lesson; re-packaging does not bring it back.
	removed := c.Lessons[0].Recording
	c.Lessons = c.Lessons[1:]
	_, err = e.lib.UpdateCourse(ctx, acme, c)
	require.NoError(t, err)
	require.NoError(t, e.lib.Packaged(ctx, acme, removed, library.VOD{Prefix: "vod/x/r2/", Master: "master.m3u8"}, 60))
	c2, err := e.lib.Course(ctx, acme, c.ID)
	require.NoError(t, err)
	require.Len(t, c2.Lessons, 5)
	for _, ls := range c2.Lessons {
		require.NotEqual(t, removed, ls.Recording)
	}

	all, err := e.lib.Courses(ctx, acme)
	require.NoError(t, err)
	require.Len(t, all, 1)
	require.Len(t, all[0].Lessons, 5)

	require.ErrorIs(t, e.lib.SetStatus(ctx, acme, "nope", library.StatusFailed, "x"), library.ErrNotFound)
	require.NoError(t, e.lib.SetStatus(ctx, acme, "rec1", library.StatusFailed, "ffmpeg: boom"))
	r, err := e.lib.Recording(ctx, acme, "rec1")
	require.NoError(t, err)
	require.Equal(t, library.StatusFailed, r.Status)
	require.Equal(t, "ffmpeg: boom", r.Error)
	_, err = library.ParseStatus("sideways")
	require.ErrorIs(t, err, library.ErrInvalid)
}

// TestCertificateOnce completes a course from many goroutines at once: one
// certificate, one code.
func TestCertificateOnce(t *testing.T) {
	e := newEnv(t, library.Config{})
	ctx := context.Background()
	addReady(t, e.lib, acme, "rec1", "", 10)
	_, err := e.lib.CreateCourse(ctx, acme, library.Course{ID: "c", Title: "C", Lessons: []library.Lesson{{Recording: "rec1"}}})
	require.NoError(t, err)
	require.NoError(t, e.lib.Enrol(ctx, acme, "c", "alice", "Alice"))
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.lib.RecordStatements(ctx, acme, "alice", "Alice", []library.Statement{stmt(t, played("rec1", "0[.]10"))})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	cp, err := e.lib.CourseProgress(ctx, acme, "c", "alice")
	require.NoError(t, err)
	require.NotNil(t, cp.Certificate)
	got, err := e.lib.VerifyCertificate(ctx, cp.Certificate.Code)
	require.NoError(t, err)
	require.Equal(t, "alice", got.User)
}

// TestForwardToLRS checks that statements reach a tenant's LRS with basic
// auth and the xAPI version header, and that other tenants' do not.
func TestForwardToLRS(t *testing.T) {
	type received struct {
		auth, version string
		stmts         []library.Statement
	}
	var mu sync.Mutex
	var got []received
	lrs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sts []library.Statement
		if r.URL.Path != "/xapi/statements" || json.NewDecoder(r.Body).Decode(&sts) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, received{auth: r.Header.Get("Authorization"), version: r.Header.Get("X-Experience-API-Version"), stmts: sts})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("[]"))
	}))
	defer lrs.Close()

	e := newEnv(t, library.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.lib.Run(ctx) }()
	addReady(t, e.lib, acme, "rec1", "", 100)
	addReady(t, e.lib, beta, "rec1", "", 100)
	org := caller{t: acme, user: "org", role: "organizer"}
	code, _ := e.do(t, org, http.MethodPut, "/v1/library/lrs", library.LRSConfig{Endpoint: lrs.URL + "/xapi", Username: "key", Password: "secret"})
	require.Equal(t, http.StatusNoContent, code)
	code, body := e.do(t, org, http.MethodGet, "/v1/library/lrs", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(body), "secret")
	code, _ = e.do(t, org, http.MethodPut, "/v1/library/lrs", library.LRSConfig{Endpoint: "ftp://nope"})
	require.Equal(t, http.StatusBadRequest, code)

	code, _ = e.do(t, caller{t: acme, user: "alice", name: "Alice"}, http.MethodPost, "/v1/xapi/statements", played("rec1", "0[.]10"))
	require.Equal(t, http.StatusOK, code)
	code, _ = e.do(t, caller{t: beta, user: "bob"}, http.MethodPost, "/v1/xapi/statements", played("rec1", "0[.]10"))
	require.Equal(t, http.StatusOK, code)

	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 1, "only acme forwards")
	require.Equal(t, "Basic "+base64.StdEncoding.EncodeToString([]byte("key:secret")), got[0].auth)
	require.Equal(t, library.XAPIVersion, got[0].version)
	require.Len(t, got[0].stmts, 1)
	s := got[0].stmts[0]
	require.Equal(t, "alice", s.Actor.Account.Name, "the actor is the authenticated learner")
	require.Empty(t, s.Actor.Mbox)
	require.Equal(t, library.VerbPaused, s.Verb.ID)
	require.NotEmpty(t, s.ID)
	require.NotEmpty(t, s.Stored)
	cancel()
	require.NoError(t, <-done)
}
