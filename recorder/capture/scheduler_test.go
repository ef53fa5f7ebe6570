package capture_test

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/capture"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/vodjob"
)

// Scheduler-shaped commands, byte for byte what scheduler/actions publishes
// (docs/recording.md, "Recorder commands"): two back-to-back sessions in
// one room, whose recordings overlap.
const (
	schedStartA = `{"v":1,"room":"room-00","session":"con-0000","convention":"con","title":"Talk 0","track":"Keynotes","license":"CC BY 4.0","key":"recording.start:0a1b2c3d4e5f60718293a4b5c6d7e8f9"}`
	schedStopA  = `{"v":1,"room":"room-00","session":"con-0000","convention":"con","title":"Talk 0","track":"Keynotes","license":"CC BY 4.0","key":"recording.stop:1a1b2c3d4e5f60718293a4b5c6d7e8f9"}`
	schedStartB = `{"v":1,"room":"room-00","session":"con-0001","convention":"con","title":"Talk 1","key":"recording.start:2a1b2c3d4e5f60718293a4b5c6d7e8f9"}`
	schedStopB  = `{"v":1,"room":"room-00","session":"con-0001","convention":"con","title":"Talk 1","key":"recording.stop:3a1b2c3d4e5f60718293a4b5c6d7e8f9"}`
)

// schedJob is a job as the scheduler publishes it: the action key in the
// payload is also the queue idempotency key.
func schedJob(kind, payload, key string) queue.Job {
	return queue.Job{Queue: capture.CommandQueue, Tenant: acme, Kind: kind, Payload: []byte(payload), IdempotencyKey: key}
}

// TestSchedulerCommands: the scheduler's start and stop commands record the
// session's room once, however often the start is delivered; the stop of a
// session ends its recording only, not the next session's in the same room;
// repeats after the fact are acknowledged without effect.
func TestSchedulerCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("sends media in real time")
	}
	ctx := context.Background()
	clip := testmedia.Generate(t, testmedia.Spec{Seconds: 3, KeyframeSeconds: 1})
	st := storetest.Open(t)
	q, err := queue.NewMemoryQueue(ctx, st, queue.MemoryConfig{PollInterval: 50 * time.Millisecond}, quietLog())
	require.NoError(t, err)
	defer func() { _ = q.Close() }()
	lib, err := library.New(ctx, st, library.Config{}, quietLog())
	require.NoError(t, err)
	recDir := t.TempDir()
	node := newSFU(t)
	mgr, err := capture.NewManager(inProcess(t, node), q, lib, capture.ManagerConfig{RecordingsDir: recDir, API: recorderAPI(t)}, quietLog())
	require.NoError(t, err)

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	var packaged atomic.Int32 // packaging jobs queued by the manager
	go func() { _ = mgr.Run(runCtx); done <- struct{}{} }()
	go func() {
		_ = q.Consume(runCtx, vodjob.Queue, func(context.Context, queue.Job) error {
			packaged.Add(1)
			return nil
		}, queue.ConsumeOptions{})
		done <- struct{}{}
	}()
	defer func() { stop(); <-done; <-done }()

	recordingsOf := func(session string) []library.Recording {
		rs, err := lib.Recordings(ctx, acme, session)
		require.NoError(t, err)
		return rs
	}
	keyA := "recording.start:0a1b2c3d4e5f60718293a4b5c6d7e8f9"
	_, err = q.Publish(ctx, schedJob(capture.KindStart, schedStartA, keyA))
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "recording of session A", func() bool {
		rs := recordingsOf("con-0000")
		return len(rs) == 1 && rs[0].Status == library.StatusRecording
	})
	recA := recordingsOf("con-0000")[0]
	require.Equal(t, "room-00", recA.Room)
	require.Equal(t, "Talk 0", recA.Title)
	require.Equal(t, "Keynotes", recA.Track)

	// The same start again, as RabbitMQ may deliver it (no publish-time
	// deduplication): another job ID, the same action key in the payload.
	dup := schedJob(capture.KindStart, schedStartA, "")
	dup.ID = "redelivered-1"
	require.NoError(t, mgr.Handle(ctx, dup))
	require.Len(t, recordingsOf("con-0000"), 1, "a repeated start records nothing more")

	pub := publish(t, node, "room-00", "alice")
	pub.send(testmedia.Merge(clip.VideoPackets(t, 1), clip.AudioPackets(t, 2)), nil)

	// Session B starts recording in the same room before A's stop.
	_, err = q.Publish(ctx, schedJob(capture.KindStart, schedStartB, "recording.start:2a1b2c3d4e5f60718293a4b5c6d7e8f9"))
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "recording of session B", func() bool { return len(recordingsOf("con-0001")) == 1 })
	recB := recordingsOf("con-0001")[0]
	require.NotEqual(t, recA.ID, recB.ID)

	_, err = q.Publish(ctx, schedJob(capture.KindStop, schedStopA, "recording.stop:1a1b2c3d4e5f60718293a4b5c6d7e8f9"))
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "recording A stopped and queued for packaging", func() bool {
		m, err := recorder.ReadManifest(filepath.Join(recDir, string(acme), recA.ID))
		return err == nil && m.StoppedAt != nil && packaged.Load() == 1
	})
	m, err := recorder.ReadManifest(filepath.Join(recDir, string(acme), recA.ID))
	require.NoError(t, err)
	require.Equal(t, "con-0000", m.Session)
	require.Equal(t, "room-00", m.Room)
	require.NotEmpty(t, m.Tracks, "the speaker's tracks were recorded")
	mB, err := recorder.ReadManifest(filepath.Join(recDir, string(acme), recB.ID))
	require.NoError(t, err)
	require.Nil(t, mB.StoppedAt, "A's stop leaves B's recording running")

	// Late repeats: A's start after A was recorded, A's stop again.
	late := schedJob(capture.KindStart, schedStartA, "")
	late.ID = "redelivered-2"
	require.NoError(t, mgr.Handle(ctx, late))
	again := schedJob(capture.KindStop, schedStopA, "")
	again.ID = "redelivered-3"
	require.NoError(t, mgr.Handle(ctx, again))
	require.Len(t, recordingsOf("con-0000"), 1)
	entries, err := os.ReadDir(filepath.Join(recDir, string(acme)))
	require.NoError(t, err)
	require.Len(t, entries, 2, "one directory per session")

	_, err = q.Publish(ctx, schedJob(capture.KindStop, schedStopB, "recording.stop:3a1b2c3d4e5f60718293a4b5c6d7e8f9"))
	require.NoError(t, err)
	waitFor(t, 20*time.Second, "recording B packaged", func() bool { return packaged.Load() == 2 })
	dead, err := q.DeadLetters(ctx, capture.CommandQueue, 10)
	require.NoError(t, err)
	require.Empty(t, dead)
}

// TestCommandRecordingIDs: a keyed start names its recording after the
// session and the key, so the same key always means the same recording.
func TestCommandRecordingIDs(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    capture.Command
		want string
	}{
		{"session and key", capture.Command{Room: "r", Session: "con-0000", Key: "k"}, "con-0000-"},
		{"room when no session", capture.Command{Room: "room-00", Key: "k"}, "room-00-"},
		{"unsafe session characters", capture.Command{Room: "r", Session: "a b/c", Key: "k"}, "a-b-c-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := capture.RecordingID(tc.c)
			require.NoError(t, recorder.ValidID(id))
			require.Regexp(t, "^"+tc.want+"[0-9a-f]{12}$", id)
			require.Equal(t, id, capture.RecordingID(tc.c), "deterministic")
			other := tc.c
			other.Key = "other"
			require.NotEqual(t, id, capture.RecordingID(other))
		})
	}
}
