package capture_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/testenv"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/capture"
	"github.com/plenaryhq/plenary/recorder/internal/container"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/packager"
	"github.com/plenaryhq/plenary/sfu"
)

// checkHLS verifies a packaged VOD as the acceptance test asks: at least
// two renditions in the master playlist, every one readable by ffprobe with
// video and audio, and the expected duration.
func checkHLS(t *testing.T, out string, res packager.Result, wantDur, tol float64) {
	t.Helper()
	master, err := os.ReadFile(filepath.Join(out, packager.MasterPlaylist))
	require.NoError(t, err)
	require.GreaterOrEqual(t, strings.Count(string(master), "#EXT-X-STREAM-INF:"), 2, string(master))
	require.GreaterOrEqual(t, len(res.Renditions), 2)
	for _, rd := range res.Renditions {
		require.Contains(t, string(master), rd.Playlist)
		p := testmedia.FFprobe(t, filepath.Join(out, rd.Playlist), false)
		v, ok := p.Stream("video")
		require.True(t, ok, "%s has video", rd.Name)
		require.Equal(t, "h264", v.CodecName)
		require.Equal(t, rd.Height, v.Height)
		a, ok := p.Stream("audio")
		require.True(t, ok, "%s has audio", rd.Name)
		require.Equal(t, "aac", a.CodecName)
		require.InDelta(t, wantDur, p.Duration(), tol, "%s duration", rd.Name)
	}
}

// TestRecordRoomEndToEnd: a Pion publisher sends 30 s of real VP8+Opus into
// a room; the recorder records it through the SFU, joined in process
// (sfunode) and from "another process" (sfurpc over a Redis bus);
// packaging yields HLS with at least two renditions of 30 s ± 1 s with audio
// and video.
func TestRecordRoomEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 30 s of media in real time")
	}
	clip := testmedia.Generate(t, testmedia.Spec{Width: 1280, Height: 720, Seconds: 30, KeyframeSeconds: 1})
	for _, tp := range transports {
		t.Run(tp.name, func(t *testing.T) { recordRoomEndToEnd(t, tp, clip) })
	}
}

func recordRoomEndToEnd(t *testing.T, tp transport, clip testmedia.Media) {
	node := newSFU(t)
	dir := t.TempDir()
	sess, err := capture.Start(context.Background(), tp.sel(t, node), acme, capture.Options{
		Room: "stage", Dir: filepath.Join(dir, "rec-e2e"), API: recorderAPI(t), Log: quietLog(),
		Info: recorder.Info{ID: "rec-e2e", Session: "guid-keynote", Title: "Keynote"},
	})
	require.NoError(t, err)
	defer func() { _ = sess.Stop() }()
	require.Equal(t, "node-a", sess.Node())

	pub := publish(t, node, "stage", "alice")
	pub.send(testmedia.Merge(clip.VideoPackets(t, 1), clip.AudioPackets(t, 2)), nil)
	require.NoError(t, sess.Stop())
	<-sess.Done()

	m, err := recorder.ReadManifest(sess.Recording().Dir())
	require.NoError(t, err)
	require.NotNil(t, m.StoppedAt)
	require.Equal(t, "acme", m.Tenant)
	require.Equal(t, "stage", m.Room)
	kinds := map[recorder.TrackKind]recorder.Track{}
	for _, tr := range m.Tracks {
		kinds[tr.Kind] = tr
		require.Equal(t, "alice", tr.Participant)
		require.NotNil(t, tr.FirstMediaAt, tr.ID)
	}
	require.Len(t, kinds, 2)
	require.Equal(t, "video/VP8", kinds[recorder.KindVideo].Codec)
	require.Equal(t, 1280, kinds[recorder.KindVideo].Width)
	require.Greater(t, kinds[recorder.KindVideo].Frames, uint64(25*30), "most of the 900 frames arrived")
	t.Logf("recorded: video %d frames, %d lost packets; audio %d packets",
		kinds[recorder.KindVideo].Frames, kinds[recorder.KindVideo].PacketsLost, kinds[recorder.KindAudio].Frames)

	out := filepath.Join(dir, "vod")
	res, err := packager.Package(context.Background(), sess.Recording().Dir(), out, packager.Options{}, nil)
	require.NoError(t, err)
	checkHLS(t, out, res, 30, 1)
	require.Equal(t, []int{720, 360}, []int{res.Renditions[0].Height, res.Renditions[1].Height})
	t.Logf("packaged %.2f s in %s (%.2fx real time)", res.Duration, res.Elapsed.Round(time.Millisecond), res.Speed)
}

// TestSpeakersComeAndGo records two rooms at once; in one, a second speaker
// joins and the first leaves mid-session.
func TestSpeakersComeAndGo(t *testing.T) {
	if testing.Short() {
		t.Skip("sends media in real time")
	}
	clip := testmedia.Generate(t, testmedia.Spec{Seconds: 10, KeyframeSeconds: 1})
	node := newSFU(t)
	dir := t.TempDir()
	sel := inProcess(t, node)
	start := func(room, id string) *capture.Session {
		s, err := capture.Start(context.Background(), sel, acme, capture.Options{
			Room: room, Dir: filepath.Join(dir, id), API: recorderAPI(t), Log: quietLog(), Info: recorder.Info{ID: id},
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Stop() })
		return s
	}
	stage, side := start("stage", "rec-stage"), start("side", "rec-side")
	pkts := testmedia.Merge(clip.VideoPackets(t, 1), clip.AudioPackets(t, 2))
	var cut []testmedia.Packet
	for _, p := range pkts {
		if p.At < 6*time.Second {
			cut = append(cut, p)
		}
	}

	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	alice := publish(t, node, "stage", "alice")
	carol := publish(t, node, "side", "carol")
	run(func() { alice.send(cut, nil); alice.close() }) // alice leaves after 6 s
	run(func() { carol.send(pkts, nil) })
	time.Sleep(3 * time.Second) // bob joins 3 s in: pacing the scenario, not synchronising
	bob := publish(t, node, "stage", "bob")
	run(func() { bob.send(pkts, nil) })
	wg.Wait()
	require.NoError(t, stage.Stop())
	require.NoError(t, side.Stop())

	m := stage.Recording().Manifest()
	who := map[string]int{}
	for _, tr := range m.Tracks {
		who[tr.Participant]++
		require.NotNil(t, tr.StoppedAt)
	}
	require.Equal(t, map[string]int{"alice": 2, "bob": 2}, who)
	require.Len(t, side.Recording().Manifest().Tracks, 2)

	out := filepath.Join(dir, "vod")
	res, err := packager.Package(context.Background(), stage.Recording().Dir(), out, packager.Options{SegmentSeconds: 2}, nil)
	require.NoError(t, err)
	// alice 0-6, bob ~3.x-13.x: alone, together, alone. (The first
	// fraction of a second may have audio only: the test publisher cannot
	// answer the recorder's keyframe request and video waits for the next
	// periodic keyframe.)
	var layout []int
	for _, sc := range res.Scenes {
		if len(sc.Tracks) > 0 {
			layout = append(layout, len(sc.Tracks))
		} else {
			require.Zero(t, sc.Start, "a black scene only at the very start")
			require.Less(t, sc.End, 1.1)
		}
	}
	require.Equal(t, []int{1, 2, 1}, layout, "%+v", res.Scenes)
	require.InDelta(t, 13, res.Duration, 1.5)
	checkHLS(t, out, res, res.Duration, 0.5)
}

// TestKilledRecorderStillPackages runs SFU, publisher and recorder in a
// child process, kills it with SIGKILL mid-session, and packages what it
// left behind.
func TestKilledRecorderStillPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("sends media in real time")
	}
	testmedia.Generate(t, testmedia.Spec{Seconds: 20, KeyframeSeconds: 1}) // warm the cache outside the child
	dir := t.TempDir()
	cmd, recDir := startChild(t, dir)
	waitRecorded(t, recDir, 5)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	packagePartial(t, dir, recDir)
}

// TestKilledRemoteRecorderStillPackages: the recorder alone runs in a child
// process and reaches the SFU, in this process, over the bus RPC on Redis
// (the recorder ≠ SFU process shape). Killed with SIGKILL mid-session, it
// leaves a recording that packages, and the node ends the recorder's
// session once its keepalives stop.
func TestKilledRemoteRecorderStillPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("sends media in real time")
	}
	clip := testmedia.Generate(t, testmedia.Spec{Seconds: 20, KeyframeSeconds: 1})
	url, prefix := testenv.RedisURL(t), testenv.UniquePrefix()
	node := newSFU(t)
	srv := serveOverRedis(t, node, url, prefix)
	dir := t.TempDir()
	cmd, recDir := startChild(t, dir, "PLENARY_CAPTURE_REDIS="+url, "PLENARY_CAPTURE_PREFIX="+prefix)
	waitFor(t, 30*time.Second, "the recorder's session on the node", func() bool { return srv.Sessions() == 1 })

	pub := publish(t, node, "stage", "alice")
	stop, sent := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sent)
		pub.send(testmedia.Merge(clip.VideoPackets(t, 1), clip.AudioPackets(t, 2)), stop)
	}()
	defer func() { close(stop); <-sent }()
	room, err := node.Room(acme, "stage")
	require.NoError(t, err)
	require.Equal(t, []sfu.ParticipantID{"alice"}, room.Participants(), "the recorder is hidden")

	waitRecorded(t, recDir, 5)
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	waitFor(t, 30*time.Second, "the node to drop the dead recorder's session", func() bool { return srv.Sessions() == 0 })
	packagePartial(t, dir, recDir)
}

// startChild runs TestKillChild in a child process with env added and
// returns it once it has started recording, with its recording directory.
func startChild(t *testing.T, dir string, env ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v") //nolint:gosec // the test binary itself
	cmd.Env = append(append(os.Environ(), "PLENARY_CAPTURE_CHILD="+dir), env...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	var recDir string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "RECORDING "); ok {
			recDir = d
			break
		}
	}
	require.NotEmpty(t, recDir, "child never started recording")
	go func() { // keep draining the child's output
		for sc.Scan() {
		}
	}()
	return cmd, recDir
}

// waitRecorded waits until the recording in recDir has two tracks and its
// video file holds at least secs seconds.
func waitRecorded(t *testing.T, recDir string, secs float64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := recorder.ReadManifest(recDir)
		if err == nil && len(m.Tracks) == 2 {
			var vfile string
			for _, tr := range m.Tracks {
				if tr.Kind == recorder.KindVideo {
					vfile = tr.File
				}
			}
			if info, err := container.ScanIVF(filepath.Join(recDir, vfile)); err == nil && info.Duration() >= secs {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "recording did not progress")
		time.Sleep(100 * time.Millisecond)
	}
}

// packagePartial packages the recording a killed recorder left in recDir
// and checks the result plays.
func packagePartial(t *testing.T, dir, recDir string) {
	t.Helper()
	m, err := recorder.ReadManifest(recDir)
	require.NoError(t, err)
	require.Nil(t, m.StoppedAt, "the recorder died without stopping")
	out := filepath.Join(dir, "vod")
	res, err := packager.Package(context.Background(), recDir, out, packager.Options{SegmentSeconds: 2}, nil)
	require.NoError(t, err)
	require.Greater(t, res.Duration, 4.5)
	require.Less(t, res.Duration, 19.0)
	checkHLS(t, out, res, res.Duration, 0.5)
	for _, rd := range res.Renditions {
		require.Empty(t, testmedia.Decode(t, filepath.Join(out, rd.Playlist)), "playable without errors")
	}
}

// TestKillChild is the child side of the killed-recorder tests: SFU,
// publisher and recorder in this process; or, with PLENARY_CAPTURE_REDIS,
// the recorder alone, reaching the parent's SFU over the bus.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("PLENARY_CAPTURE_CHILD")
	if dir == "" {
		t.Skip("runs only as the child of TestKilledRecorderStillPackages")
	}
	opts := capture.Options{
		Room: "stage", Dir: filepath.Join(dir, "rec-killed"), API: recorderAPI(t), Log: quietLog(),
		Info: recorder.Info{ID: "rec-killed"},
	}
	if url := os.Getenv("PLENARY_CAPTURE_REDIS"); url != "" {
		sess, err := capture.Start(context.Background(), remoteSelector(t, url, os.Getenv("PLENARY_CAPTURE_PREFIX")), acme, opts)
		require.NoError(t, err)
		fmt.Println("RECORDING " + sess.Recording().Dir())
		select {} // wait to be killed
	}
	clip := testmedia.Generate(t, testmedia.Spec{Seconds: 20, KeyframeSeconds: 1})
	node := newSFU(t)
	sess, err := capture.Start(context.Background(), inProcess(t, node), acme, opts)
	require.NoError(t, err)
	pub := publish(t, node, "stage", "alice")
	fmt.Println("RECORDING " + sess.Recording().Dir())
	pub.send(testmedia.Merge(clip.VideoPackets(t, 1), clip.AudioPackets(t, 2)), nil)
	select {} // wait to be killed
}
