package packager_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
	"github.com/plenaryhq/plenary/recorder/packager"
)

// variant is one #EXT-X-STREAM-INF entry of a master playlist.
type variant struct {
	attrs map[string]string
	uri   string
}

var attrRE = regexp.MustCompile(`([A-Z0-9-]+)=("[^"]*"|[^,]*)`)

func readMaster(t *testing.T, path string) []variant {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	var out []variant
	sc := bufio.NewScanner(f)
	var cur *variant
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-STREAM-INF:"):
			cur = &variant{attrs: map[string]string{}}
			for _, m := range attrRE.FindAllStringSubmatch(strings.TrimPrefix(line, "#EXT-X-STREAM-INF:"), -1) {
				cur.attrs[m[1]] = strings.Trim(m[2], `"`)
			}
		case cur != nil && line != "" && !strings.HasPrefix(line, "#"):
			cur.uri = line
			out = append(out, *cur)
			cur = nil
		}
	}
	return out
}

// segments lists the segment URIs and durations of a media playlist.
func segments(t *testing.T, path string) ([]string, []float64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var uris []string
	var durs []float64
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if d, ok := strings.CutPrefix(line, "#EXTINF:"); ok {
			v, err := strconv.ParseFloat(strings.TrimSuffix(d, ","), 64)
			require.NoError(t, err)
			durs = append(durs, v)
		} else if line != "" && !strings.HasPrefix(line, "#") {
			uris = append(uris, line)
		}
	}
	require.Contains(t, string(b), "#EXT-X-ENDLIST")
	return uris, durs
}

// firstFrameIsKey reports whether a segment's first video frame is a keyframe.
func firstFrameIsKey(t *testing.T, seg string) bool {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-read_intervals", "%+#1",
		"-show_entries", "frame=key_frame", "-of", "csv=p=0", seg).Output()
	require.NoError(t, err)
	return strings.HasPrefix(strings.TrimSpace(string(out)), "1")
}

// checkVOD verifies the HLS output the way a player would find it.
func checkVOD(t *testing.T, out string, res packager.Result, wantHeights []int, wantDur float64) {
	t.Helper()
	vs := readMaster(t, filepath.Join(out, packager.MasterPlaylist))
	require.Len(t, vs, len(wantHeights))
	require.Len(t, res.Renditions, len(wantHeights))
	for i, v := range vs {
		rd := res.Renditions[i]
		require.Equal(t, wantHeights[i], rd.Height)
		require.Equal(t, rd.Playlist, v.uri)
		bw, err := strconv.Atoi(v.attrs["BANDWIDTH"])
		require.NoError(t, err)
		require.Greater(t, bw, rd.VideoKbps*1000)
		require.Equal(t, strconv.Itoa(rd.Width)+"x"+strconv.Itoa(rd.Height), v.attrs["RESOLUTION"])
		require.Regexp(t, `^avc1\.[0-9a-f]{6},mp4a\.40\.2$`, v.attrs["CODECS"])

		p := testmedia.FFprobe(t, filepath.Join(out, v.uri), false)
		vstr, ok := p.Stream("video")
		require.True(t, ok, "rendition %s has video", rd.Name)
		require.Equal(t, "h264", vstr.CodecName)
		require.Equal(t, rd.Height, vstr.Height)
		astr, ok := p.Stream("audio")
		require.True(t, ok, "rendition %s has audio", rd.Name)
		require.Equal(t, "aac", astr.CodecName)
		require.InDelta(t, wantDur, p.Duration(), 0.5, "rendition %s duration", rd.Name)

		uris, durs := segments(t, filepath.Join(out, v.uri))
		require.NotEmpty(t, uris)
		for k, d := range durs {
			if k < len(durs)-1 {
				require.InDelta(t, float64(res.SegmentSeconds), d, 0.05, "segment %d of %s", k, rd.Name)
			}
		}
		for _, k := range []int{0, len(uris) / 2, len(uris) - 1} {
			require.True(t, firstFrameIsKey(t, filepath.Join(out, rd.Name, uris[k])), "segment %s/%s starts with a keyframe", rd.Name, uris[k])
		}
	}
	poster := testmedia.FFprobe(t, filepath.Join(out, packager.PosterFile), false)
	ps, ok := poster.Stream("video")
	require.True(t, ok)
	require.Equal(t, "mjpeg", ps.CodecName)
	require.Equal(t, wantHeights[0], ps.Height)
	_, err := os.Stat(filepath.Join(out, packager.ResultFile))
	require.NoError(t, err)
	entries, err := os.ReadDir(filepath.Dir(out))
	require.NoError(t, err)
	for _, e := range entries {
		require.NotContains(t, e.Name(), ".partial-", "staging directory left behind")
	}
}

func TestPackage720p(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes 720p video")
	}
	media := testmedia.Generate(t, testmedia.Spec{Width: 1280, Height: 720, Seconds: 10})
	dir := t.TempDir()
	in := testmedia.Record(t, dir, "rec720", []testmedia.Participant{{Name: "alice", Media: media}}, false)
	out := filepath.Join(dir, "vod")
	var reports []packager.Progress
	res, err := packager.Package(context.Background(), in, out, packager.Options{}, func(p packager.Progress) {
		reports = append(reports, p)
	})
	require.NoError(t, err)
	require.Equal(t, 1280, res.Width)
	require.Equal(t, "rec720", res.Recording)
	require.InDelta(t, 10.0, res.Duration, 0.1)
	require.Len(t, res.Scenes, 1)
	require.Equal(t, []string{"t01"}, res.Scenes[0].Tracks)
	checkVOD(t, out, res, []int{720, 360}, 10)

	require.NotEmpty(t, reports)
	require.Equal(t, "done", reports[len(reports)-1].Step)
	var sawEncode bool
	for _, p := range reports {
		if p.Step == "encode" && p.Done > 0 && p.Done < p.Total {
			sawEncode = true
		}
	}
	require.True(t, sawEncode, "progress reported during the encode: %+v", reports)
	t.Logf("packaged %.1fs of 720p in %s (%.2fx real time)", res.Duration, res.Elapsed.Round(time.Millisecond), res.Speed)
}

// cropHeight runs cropdetect on the frame at t and returns the height of the
// non-black area: a full-frame 16:9 video fills the canvas, a 2-up grid of
// 16:9 videos leaves black bars above and below.
func cropHeight(t *testing.T, playlist string, at float64) int {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "info", "-ss", strconv.FormatFloat(at, 'f', 2, 64), "-i", playlist,
		"-frames:v", "3", "-vf", "cropdetect=limit=0.1:round=2:reset=1", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	m := regexp.MustCompile(`crop=(\d+):(\d+):(\d+):(\d+)`).FindAllStringSubmatch(stderr.String(), -1)
	require.NotEmpty(t, m, stderr.String())
	h, err := strconv.Atoi(m[len(m)-1][2])
	require.NoError(t, err)
	return h
}

func TestPackageGridWhenSpeakersOverlap(t *testing.T) {
	alice := testmedia.Generate(t, testmedia.Spec{Seconds: 8})
	bob := testmedia.Generate(t, testmedia.Spec{Seconds: 8, Tone: 660})
	dir := t.TempDir()
	in := testmedia.Record(t, dir, "grid", []testmedia.Participant{
		{Name: "alice", Media: alice},
		{Name: "bob", Media: bob, Join: 4 * time.Second},
	}, false)
	out := filepath.Join(dir, "vod")
	res, err := packager.Package(context.Background(), in, out, packager.Options{SegmentSeconds: 2}, nil)
	require.NoError(t, err)
	require.InDelta(t, 12.0, res.Duration, 0.1)
	require.Len(t, res.Scenes, 3)
	require.Equal(t, []string{"t01"}, res.Scenes[0].Tracks)
	require.Len(t, res.Scenes[1].Tracks, 2)
	require.InDelta(t, 4.0, res.Scenes[1].Start, 0.05)
	require.InDelta(t, 8.0, res.Scenes[1].End, 0.1)
	require.Len(t, res.Scenes[2].Tracks, 1)
	checkVOD(t, out, res, []int{360, 180}, 12)

	top := filepath.Join(out, res.Renditions[0].Playlist)
	require.InDelta(t, 360, cropHeight(t, top, 2), 8, "alice alone: full frame")
	require.InDelta(t, 180, cropHeight(t, top, 6), 8, "alice and bob: side by side")
	require.InDelta(t, 360, cropHeight(t, top, 10), 8, "bob alone: full frame")
}

// TestPackageKilledRecording packages a recording whose recorder died
// half-way (nothing closed, no stop times) and whose files end in torn
// frames.
func TestPackageKilledRecording(t *testing.T) {
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 10})
	dir := t.TempDir()
	in := testmedia.Record(t, dir, "killed", []testmedia.Participant{{Name: "alice", Media: media, Cut: 5 * time.Second}}, true)
	m, err := recorder.ReadManifest(in)
	require.NoError(t, err)
	require.Nil(t, m.StoppedAt)
	for _, tr := range m.Tracks {
		p := filepath.Join(in, tr.File)
		st, err := os.Stat(p)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(p, st.Size()-11))
	}
	out := filepath.Join(dir, "vod")
	res, err := packager.Package(context.Background(), in, out, packager.Options{}, nil)
	require.NoError(t, err)
	require.InDelta(t, 5.0, res.Duration, 0.2)
	checkVOD(t, out, res, []int{360, 180}, 5)
}

func TestPackageAudioOnlyAndH264(t *testing.T) {
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 4, VideoCodec: "h264"})
	dir := t.TempDir()
	in := testmedia.Record(t, dir, "mixed", []testmedia.Participant{
		{Name: "alice", Media: media},
		{Name: "bob", Media: media, NoVideo: true, Join: 2 * time.Second},
	}, false)
	out := filepath.Join(dir, "vod")
	res, err := packager.Package(context.Background(), in, out, packager.Options{SegmentSeconds: 2}, nil)
	require.NoError(t, err)
	require.InDelta(t, 6.0, res.Duration, 0.15)
	checkVOD(t, out, res, []int{360, 180}, 6)
}

func TestPackageErrors(t *testing.T) {
	testmedia.Available(t)
	ctx := context.Background()
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 4})
	dir := t.TempDir()
	in := testmedia.Record(t, dir, "rec", []testmedia.Participant{{Name: "alice", Media: media}}, false)

	t.Run("no manifest", func(t *testing.T) {
		_, err := packager.Package(ctx, t.TempDir(), filepath.Join(dir, "o1"), packager.Options{}, nil)
		require.ErrorIs(t, err, recorder.ErrInvalidManifest)
	})
	t.Run("no media", func(t *testing.T) {
		rec, err := recorder.Create(filepath.Join(dir, "empty"), recorder.Info{ID: "empty"}, recorder.Options{})
		require.NoError(t, err)
		_, err = rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/VP8"})
		require.NoError(t, err)
		require.NoError(t, rec.Close())
		_, err = packager.Package(ctx, rec.Dir(), filepath.Join(dir, "o2"), packager.Options{}, nil)
		require.ErrorIs(t, err, packager.ErrNoMedia)
	})
	t.Run("output exists", func(t *testing.T) {
		out := filepath.Join(dir, "o3")
		require.NoError(t, os.MkdirAll(out, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(out, "x"), []byte("x"), 0o600))
		_, err := packager.Package(ctx, in, out, packager.Options{}, nil)
		require.ErrorIs(t, err, packager.ErrOutputExists)
	})
	t.Run("ffmpeg fails", func(t *testing.T) {
		_, err := packager.Package(ctx, in, filepath.Join(dir, "o4"), packager.Options{Preset: "warp-speed"}, nil)
		require.ErrorIs(t, err, packager.ErrFFmpeg)
		var fe *packager.FFmpegError
		require.True(t, errors.As(err, &fe))
		require.Equal(t, "encode", fe.Step)
		require.Contains(t, fe.Stderr, "warp-speed", "the error carries ffmpeg's own words")
		require.Contains(t, err.Error(), "warp-speed")
		_, statErr := os.Stat(filepath.Join(dir, "o4"))
		require.ErrorIs(t, statErr, os.ErrNotExist)
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		_, err := packager.Package(cctx, in, filepath.Join(dir, "o5"), packager.Options{Preset: "veryslow"}, func(p packager.Progress) {
			if p.Step == "encode" {
				cancel()
			}
		})
		require.ErrorIs(t, err, context.Canceled)
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			require.NotContains(t, e.Name(), ".partial-")
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		out := filepath.Join(dir, "o3")
		res, err := packager.Package(ctx, in, out, packager.Options{Overwrite: true, SegmentSeconds: 2}, nil)
		require.NoError(t, err)
		_, err = os.Stat(filepath.Join(out, "x"))
		require.ErrorIs(t, err, os.ErrNotExist)
		checkVOD(t, out, res, []int{360, 180}, 4)
	})
}
