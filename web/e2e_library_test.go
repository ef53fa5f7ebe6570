package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/packager"
)

// seedRecording puts a packaged recording into the running server's
// library: a recording directory (manifest + the VP8 clip as the track
// the recorder would have written) is packaged by the project's packager
// (ffmpeg, HLS) into the server's media directory, and registered ready
// through the library on the server's store — what the recorder role does
// after a live session. It returns the recording ID and the track course.
func (s *stack) seedRecording(t *testing.T, title, track string) (id, course string) {
	t.Helper()
	clip := vp8Clip(t)
	id = "rec-e2e-" + suffix()
	in := filepath.Join(buildDir, "recordings", id)
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(in, "t01-video.ivf"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	started := time.Now().UTC().Add(-time.Minute)
	first := started.Add(time.Second)
	m := recorder.Manifest{
		Version: recorder.ManifestVersion, ID: id, Tenant: demoTenant, Room: demoStage, Title: title,
		StartedAt: started, UpdatedAt: started,
		Tracks: []recorder.Track{{
			ID: "t01", File: "t01-video.ivf", Kind: recorder.KindVideo, Codec: "video/VP8", ClockRate: 90000,
			Participant: "speaker", AddedAt: started, FirstMediaAt: &first, Width: 640, Height: 360,
		}},
	}
	mb, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(in, recorder.ManifestFile), mb, 0o644); err != nil {
		t.Fatal(err)
	}
	run := "r" + suffix()
	prefix := "vod/" + id + "/" + run + "/"
	out := filepath.Join(s.dataDir, "media", demoTenant, "vod", id, run)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := packager.Package(ctx, in, out, packager.Options{SegmentSeconds: 2}, nil)
	if err != nil {
		t.Fatalf("package: %v", err)
	}
	lib, err := library.New(ctx, s.st, library.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tid := tenant.MustParse(demoTenant)
	if err := lib.AddRecording(ctx, tid, library.Recording{ID: id, Room: demoStage, Title: title, Track: track, Status: library.StatusPackaging}); err != nil {
		t.Fatal(err)
	}
	vod := library.VOD{Prefix: prefix, Master: res.Master, Poster: res.Poster, Width: res.Width, Height: res.Height, Renditions: len(res.Renditions)}
	if err := lib.Packaged(ctx, tid, id, vod, res.Duration); err != nil {
		t.Fatal(err)
	}
	c, err := lib.EnsureTrackCourse(ctx, tid, track)
	if err != nil {
		t.Fatal(err)
	}
	return id, c.ID
}

// TestLibraryPlayback is the library acceptance scenario: a recorded
// session plays (the video's time advances), watching it to the end marks
// the lesson complete, and the course certificate downloads.
func TestLibraryPlayback(t *testing.T) {
	s := requireStack(t)
	track := "E2E Learning " + suffix()
	rec, course := s.seedRecording(t, "Recorded keynote", track)
	b := browser(t)
	tb := newTab(t, b, s, "learner")
	tb.open("/t/demo/library", s.token(t, "learner-"+suffix(), "Lea Learner", auth.RoleAttendee))
	tb.untilText(".cards h3 a", track)
	tb.click(".cards h3 a", track)
	tb.untilText("h1", track)
	tb.click("button", "Enrol")
	tb.untilText(".muted", "to earn the certificate")
	tb.screenshots("course")
	tb.click(".lessons a", "Recorded keynote")
	tb.until("player", `document.querySelector('video[data-recording=`+js(rec)+`]')`)
	tb.until("metadata", `document.querySelector('video').readyState >= 1`)
	eval[bool](tb, `document.querySelector('video').play().then(() => true)`)
	tb.until("time advances", `document.querySelector('video').currentTime > 0.5`)
	t0 := eval[float64](tb, `document.querySelector('video').currentTime`)
	tb.until("time keeps advancing", `document.querySelector('video').currentTime > `+jsNum(t0+0.5))
	tb.until("played to the end", `document.querySelector('video').ended`)
	tb.until("certificate", `document.querySelector('[data-certificate]')`)
	code := eval[string](tb, `document.querySelector('[data-certificate]').dataset.certificate`)
	pdf := eval[string](tb, `fetch(document.querySelector('[data-certificate] a[download]').href).then(async r => r.headers.get('content-type') + ' ' + (await r.text()).slice(0, 5))`)
	if pdf != "application/pdf %PDF-" {
		t.Errorf("certificate download: %q", pdf)
	}
	tb.screenshots("watch")
	tb.open("/t/demo/library/course/"+course, "")
	tb.until("lesson complete", `document.querySelector('.lessons .badge.ok')`)
	tb.untilText("[data-certificate] code", code)
}

// jsNum formats a number for a JavaScript expression.
func jsNum(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
