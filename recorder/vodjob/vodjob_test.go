package vodjob_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/packager"
	"github.com/plenaryhq/plenary/recorder/storage"
	"github.com/plenaryhq/plenary/recorder/vodjob"
)

var acme = tenant.MustParse("acme")

type env struct {
	q    *queue.MemoryQueue
	st   *storage.Local
	lib  *library.Library
	root string
	log  *slog.Logger
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	s := storetest.Open(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := queue.NewMemoryQueue(ctx, s, queue.MemoryConfig{PollInterval: 50 * time.Millisecond}, log)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	st, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	lib, err := library.New(ctx, s, library.Config{}, log)
	require.NoError(t, err)
	return &env{q: q, st: st, lib: lib, root: t.TempDir(), log: log}
}

// run starts a worker and returns a stop function.
func (e *env) run(t *testing.T, cfg vodjob.Config) func() {
	t.Helper()
	cfg.RecordingsDir = e.root
	cfg.WorkDir = t.TempDir()
	w, err := vodjob.New(e.q, e.st, e.lib, cfg, e.log)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

// waitStatus polls the library until the recording reaches want.
func (e *env) waitStatus(t *testing.T, rec string, want library.Status, within time.Duration) library.Recording {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := e.lib.Recording(context.Background(), acme, rec)
		require.NoError(t, err)
		if r.Status == want {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("recording %s is %s, want %s (error %q)", rec, r.Status, want, r.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPackagingJob(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 4})
	testmedia.Record(t, filepath.Join(e.root, "acme"), "rec1", []testmedia.Participant{{Name: "alice", Media: media}}, false)
	require.NoError(t, e.lib.AddRecording(ctx, acme, library.Recording{ID: "rec1", Title: "Opening", Track: "Keynotes"}))
	stop := e.run(t, vodjob.Config{Packager: packager.Options{SegmentSeconds: 2}})
	defer stop()

	id, err := vodjob.Enqueue(ctx, e.q, acme, "rec1", "rec1:stop")
	require.NoError(t, err)
	again, err := vodjob.Enqueue(ctx, e.q, acme, "rec1", "rec1:stop")
	require.NoError(t, err)
	require.Equal(t, id, again, "the same stop packages once")

	r := e.waitStatus(t, "rec1", library.StatusReady, 2*time.Minute)
	require.NotNil(t, r.VOD)
	require.InDelta(t, 4.0, r.Duration, 0.2)
	require.True(t, strings.HasPrefix(r.VOD.Prefix, "vod/rec1/"))
	require.Equal(t, 2, r.VOD.Renditions)
	for _, f := range []string{"master.m3u8", "poster.jpg", "vod.json", "360p/index.m3u8", "180p/seg_00000.ts"} {
		o, err := e.st.Open(ctx, storage.Key(acme, r.VOD.Prefix+f))
		require.NoError(t, err, f)
		b, err := io.ReadAll(o)
		require.NoError(t, err)
		require.NotEmpty(t, b, f)
		require.NoError(t, o.Close())
	}
	c, err := e.lib.Course(ctx, acme, "track-keynotes")
	require.NoError(t, err)
	require.Equal(t, []library.Lesson{{Recording: "rec1", Title: "Opening"}}, c.Lessons)
}

// TestFailingPackagingDeadLetters makes ffmpeg fail on every attempt: the
// job is retried, then dead-lettered with ffmpeg's own error, and the
// recording is marked failed with it.
func TestFailingPackagingDeadLetters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 4})
	testmedia.Record(t, filepath.Join(e.root, "acme"), "rec2", []testmedia.Participant{{Name: "alice", Media: media}}, false)
	require.NoError(t, e.lib.AddRecording(ctx, acme, library.Recording{ID: "rec2"}))
	stop := e.run(t, vodjob.Config{
		Packager: packager.Options{Preset: "warp-speed"},
		Policy:   queue.Policy{MaxAttempts: 2, BaseBackoff: 20 * time.Millisecond},
	})
	defer stop()
	_, err := vodjob.Enqueue(ctx, e.q, acme, "rec2", "")
	require.NoError(t, err)

	r := e.waitStatus(t, "rec2", library.StatusFailed, time.Minute)
	require.Contains(t, r.Error, "warp-speed", "the library shows ffmpeg's error")
	var dead []queue.Job
	deadline := time.Now().Add(30 * time.Second)
	for len(dead) == 0 && time.Now().Before(deadline) {
		dead, err = e.q.DeadLetters(ctx, vodjob.Queue, 10)
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond)
	}
	require.Len(t, dead, 1)
	require.Equal(t, 2, dead[0].Attempt)
	require.Contains(t, dead[0].LastError, "ffmpeg encode")
	require.Contains(t, dead[0].LastError, "warp-speed")
}

// TestUnpackageableRecordingDeadLettersAtOnce: no media, no retries.
func TestUnpackageableRecordingDeadLettersAtOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec, err := recorder.Create(filepath.Join(e.root, "acme", "rec3"), recorder.Info{ID: "rec3", Tenant: acme}, recorder.Options{})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	require.NoError(t, e.lib.AddRecording(ctx, acme, library.Recording{ID: "rec3"}))
	stop := e.run(t, vodjob.Config{Policy: queue.Policy{MaxAttempts: 5, BaseBackoff: time.Hour}})
	defer stop()
	_, err = vodjob.Enqueue(ctx, e.q, acme, "rec3", "")
	require.NoError(t, err)
	r := e.waitStatus(t, "rec3", library.StatusFailed, 30*time.Second)
	require.Contains(t, r.Error, "no playable media")
	var dead []queue.Job
	deadline := time.Now().Add(30 * time.Second)
	for len(dead) == 0 && time.Now().Before(deadline) {
		dead, err = e.q.DeadLetters(ctx, vodjob.Queue, 10)
		require.NoError(t, err)
		time.Sleep(50 * time.Millisecond)
	}
	require.Len(t, dead, 1)
	require.Equal(t, 1, dead[0].Attempt)

	_, err = vodjob.Enqueue(ctx, e.q, acme, "../etc", "")
	require.ErrorIs(t, err, recorder.ErrInvalidID)
}
