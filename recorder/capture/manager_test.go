package capture_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/recorder/capture"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/packager"
	"github.com/plenaryhq/plenary/recorder/storage"
	"github.com/plenaryhq/plenary/recorder/vodjob"
)

// TestCommandsToLibrary drives the whole pipeline through the queue: a
// start command, a speaker, a stop command, then packaging, storage and the
// library entry, each step by its real component.
func TestCommandsToLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("sends media in real time")
	}
	ctx := context.Background()
	clip := testmedia.Generate(t, testmedia.Spec{Seconds: 10, KeyframeSeconds: 1})
	s := storetest.Open(t)
	q, err := queue.NewMemoryQueue(ctx, s, queue.MemoryConfig{PollInterval: 50 * time.Millisecond}, quietLog())
	require.NoError(t, err)
	defer func() { _ = q.Close() }()
	lib, err := library.New(ctx, s, library.Config{}, quietLog())
	require.NoError(t, err)
	media, err := storage.NewLocal(t.TempDir())
	require.NoError(t, err)
	recDir := t.TempDir()
	node := newSFU(t)

	mgr, err := capture.NewManager(inProcess(t, node), q, lib, capture.ManagerConfig{RecordingsDir: recDir, API: recorderAPI(t)}, quietLog())
	require.NoError(t, err)
	worker, err := vodjob.New(q, media, lib, vodjob.Config{RecordingsDir: recDir, WorkDir: t.TempDir(),
		Packager: packager.Options{SegmentSeconds: 2}}, quietLog())
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { _ = mgr.Run(runCtx); done <- struct{}{} }()
	go func() { _ = worker.Run(runCtx); done <- struct{}{} }()
	defer func() { stop(); <-done; <-done }()

	_, err = capture.Publish(ctx, q, acme, capture.KindStart, capture.Command{
		Room: "stage", Recording: "rec-cmd", Session: "guid-1", Title: "Opening", Track: "Keynotes"})
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "recording registered", func() bool {
		r, err := lib.Recording(ctx, acme, "rec-cmd")
		return err == nil && r.Status == library.StatusRecording
	})
	pub := publish(t, node, "stage", "alice")
	var six []testmedia.Packet
	for _, p := range testmedia.Merge(clip.VideoPackets(t, 1), clip.AudioPackets(t, 2)) {
		if p.At < 6*time.Second {
			six = append(six, p)
		}
	}
	pub.send(six, nil)
	_, err = capture.Publish(ctx, q, acme, capture.KindStop, capture.Command{Room: "stage"})
	require.NoError(t, err)

	var rec library.Recording
	waitFor(t, 3*time.Minute, "recording packaged", func() bool {
		rec, err = lib.Recording(ctx, acme, "rec-cmd")
		require.NoError(t, err)
		require.NotEqual(t, library.StatusFailed, rec.Status, rec.Error)
		return rec.Status == library.StatusReady
	})
	require.InDelta(t, 6, rec.Duration, 1)
	o, err := media.Open(ctx, storage.Key(acme, rec.VOD.Prefix+rec.VOD.Master))
	require.NoError(t, err)
	require.NoError(t, o.Close())
	c, err := lib.Course(ctx, acme, "track-keynotes")
	require.NoError(t, err)
	require.Equal(t, []library.Lesson{{Recording: "rec-cmd", Title: "Opening"}}, c.Lessons)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
