package recorder_test

import (
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/internal/container"
	"github.com/plenaryhq/plenary/recorder/internal/testmedia"
)

// fakeClock is a settable clock for placing packets on the timeline.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// feed writes pkts to the writers of their kind, moving the clock to each
// packet's due time after base.
func feed(t *testing.T, clk *fakeClock, base time.Time, pkts []testmedia.Packet, video, audio recorder.Writer) {
	t.Helper()
	for _, p := range pkts {
		clk.Set(base.Add(p.At))
		w := video
		if p.Kind == "audio" {
			w = audio
		}
		if w == nil {
			continue
		}
		require.NoError(t, w.WriteRTP(p.RTP))
	}
}

func newRecording(t *testing.T, clk *fakeClock) *recorder.Recording {
	t.Helper()
	rec, err := recorder.Create(filepath.Join(t.TempDir(), "rec1"), recorder.Info{
		ID: "rec1", Tenant: tenant.MustParse("acme"), Room: "main-stage", Session: "guid-1",
	}, recorder.Options{Now: clk.Now})
	require.NoError(t, err)
	return rec
}

func TestRecordVideoAndOpus(t *testing.T) {
	for _, codec := range []string{"vp8", "h264"} {
		t.Run(codec, func(t *testing.T) {
			media := testmedia.Generate(t, testmedia.Spec{Seconds: 6, VideoCodec: codec})
			clk := newFakeClock()
			rec := newRecording(t, clk)
			mime := map[string]string{"vp8": "video/VP8", "h264": "video/H264"}[codec]
			video, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: mime, Participant: "alice", SourceID: "TR_v"})
			require.NoError(t, err)
			audio, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindAudio, Codec: "audio/opus", Participant: "alice", SourceID: "TR_a"})
			require.NoError(t, err)

			vp := media.VideoPackets(t, 1111)
			ap := media.AudioPackets(t, 2222)
			start := clk.Now().Add(500 * time.Millisecond)
			feed(t, clk, start, testmedia.Merge(vp, ap), video, audio)
			require.NoError(t, rec.Close())
			require.NoError(t, rec.Close(), "Close is idempotent")
			require.NoError(t, video.Close(), "track Close is idempotent")
			require.ErrorIs(t, video.WriteRTP(vp[0].RTP), recorder.ErrClosed)

			m, err := recorder.ReadManifest(rec.Dir())
			require.NoError(t, err)
			require.Equal(t, "rec1", m.ID)
			require.Equal(t, "guid-1", m.Session)
			require.NotNil(t, m.StoppedAt)
			require.Len(t, m.Tracks, 2)
			vt, at := m.Tracks[0], m.Tracks[1]
			require.Equal(t, recorder.KindVideo, vt.Kind)
			require.Equal(t, "alice", vt.Participant)
			require.NotNil(t, vt.FirstMediaAt)
			require.True(t, vt.FirstMediaAt.Equal(start), "video starts at its first packet's arrival")
			require.NotNil(t, vt.StoppedAt)
			require.EqualValues(t, 6*30, vt.Frames)
			if codec == "vp8" {
				require.Equal(t, 640, vt.Width)
				require.Equal(t, 360, vt.Height)
			}
			require.Equal(t, recorder.KindAudio, at.Kind)
			require.Equal(t, 2, at.Channels)

			vprobe := testmedia.FFprobe(t, filepath.Join(rec.Dir(), vt.File), true)
			vs, ok := vprobe.Stream("video")
			require.True(t, ok)
			require.Equal(t, codec, vs.CodecName)
			require.Equal(t, 640, vs.Width)
			require.Equal(t, 360, vs.Height)
			require.Equal(t, "180", vs.Frames)
			require.Empty(t, testmedia.Decode(t, filepath.Join(rec.Dir(), vt.File)))
			info, err := container.ScanIVF(filepath.Join(rec.Dir(), vt.File))
			require.NoError(t, err)
			require.InDelta(t, 6.0, info.Duration(), 0.05)
			require.EqualValues(t, 180, info.Header.Frames, "Close fills in the frame count")

			aprobe := testmedia.FFprobe(t, filepath.Join(rec.Dir(), at.File), true)
			as, ok := aprobe.Stream("audio")
			require.True(t, ok)
			require.Equal(t, "opus", as.CodecName)
			require.Equal(t, 2, as.Channels)
			require.InDelta(t, 6.0, aprobe.Duration(), 0.1)
			require.Empty(t, testmedia.Decode(t, filepath.Join(rec.Dir(), at.File)))
		})
	}
}

// TestRecordReorderedAndLossy shuffles packets within a few positions (as a
// network does) and drops a burst: the file stays decodable, frames after
// the loss are dropped until the next keyframe, and the keyframe request
// fires.
func TestRecordReorderedAndLossy(t *testing.T) {
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 6})
	clk := newFakeClock()
	rec := newRecording(t, clk)
	var keyReqs int
	video, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/vp8", RequestKeyframe: func() { keyReqs++ }})
	require.NoError(t, err)
	vp := media.VideoPackets(t, 1)
	// Swap neighbours everywhere after the first frame, duplicate some, and
	// lose packets 300-309.
	sent := []testmedia.Packet{vp[0], vp[1]}
	for i := 2; i+1 < len(vp); i += 2 {
		sent = append(sent, vp[i+1], vp[i])
		if i%50 == 0 {
			sent = append(sent, vp[i])
		}
	}
	var lossy []testmedia.Packet
	for _, p := range sent {
		if sq := p.RTP.SequenceNumber - vp[0].RTP.SequenceNumber; sq >= 300 && sq < 310 {
			continue
		}
		lossy = append(lossy, p)
	}
	feed(t, clk, clk.Now(), lossy, video, nil)
	require.NoError(t, video.Close())
	require.NoError(t, rec.Close())
	m := rec.Manifest()
	require.EqualValues(t, 10, m.Tracks[0].PacketsLost)
	require.Less(t, m.Tracks[0].Frames, uint64(180), "frames after the loss wait for a keyframe")
	require.Greater(t, m.Tracks[0].Frames, uint64(120))
	require.Equal(t, 1, keyReqs, "requests are throttled")
	require.Empty(t, testmedia.Decode(t, filepath.Join(rec.Dir(), m.Tracks[0].File)), "no corrupt frame reaches the file")
}

// TestOpusGapsBecomeSilence drops two seconds of audio packets (DTX or a
// network outage): the Ogg file still lasts as long as the sender's clock.
func TestOpusGapsBecomeSilence(t *testing.T) {
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 6})
	clk := newFakeClock()
	rec := newRecording(t, clk)
	audio, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindAudio, Codec: "audio/opus"})
	require.NoError(t, err)
	var kept []testmedia.Packet
	for _, p := range media.AudioPackets(t, 7) {
		if p.At >= 2*time.Second && p.At < 4*time.Second {
			continue
		}
		kept = append(kept, p)
	}
	feed(t, clk, clk.Now(), kept, nil, audio)
	require.NoError(t, rec.Close())
	info, err := container.ScanOgg(filepath.Join(rec.Dir(), rec.Manifest().Tracks[0].File))
	require.NoError(t, err)
	require.False(t, info.Truncated)
	total := float64(info.LastGranule) / 48000
	require.InDelta(t, 6.0, total, 0.05, "granule clock follows RTP time")
	require.Empty(t, testmedia.Decode(t, filepath.Join(rec.Dir(), rec.Manifest().Tracks[0].File)))
}

// TestKilledRecorderLeavesUsableFiles stops feeding half-way without closing
// anything (the process "dies"), then tears the last frame of each file:
// the manifest lists both tracks, and both files decode up to the tear.
func TestKilledRecorderLeavesUsableFiles(t *testing.T) {
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 6})
	clk := newFakeClock()
	rec := newRecording(t, clk)
	video, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/VP8", Participant: "bob"})
	require.NoError(t, err)
	audio, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindAudio, Codec: "audio/opus", Participant: "bob"})
	require.NoError(t, err)
	var half []testmedia.Packet
	for _, p := range testmedia.Merge(media.VideoPackets(t, 1), media.AudioPackets(t, 2)) {
		if p.At < 3*time.Second {
			half = append(half, p)
		}
	}
	feed(t, clk, clk.Now(), half, video, audio)

	m, err := recorder.ReadManifest(rec.Dir())
	require.NoError(t, err)
	require.Nil(t, m.StoppedAt)
	require.Len(t, m.Tracks, 2)
	for _, tr := range m.Tracks {
		require.NotNil(t, tr.FirstMediaAt)
		require.Nil(t, tr.StoppedAt)
		path := filepath.Join(rec.Dir(), tr.File)
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, st.Size()-7))
	}
	vinfo, err := container.ScanIVF(filepath.Join(rec.Dir(), m.Tracks[0].File))
	require.NoError(t, err)
	require.True(t, vinfo.Truncated)
	require.Zero(t, vinfo.Header.Frames, "the header count is only written at Close")
	require.InDelta(t, 3.0, vinfo.Duration(), 0.1)
	ainfo, err := container.ScanOgg(filepath.Join(rec.Dir(), m.Tracks[1].File))
	require.NoError(t, err)
	require.True(t, ainfo.Truncated)
	require.InDelta(t, 3.0, ainfo.Duration(), 0.2)

	vp := testmedia.FFprobe(t, filepath.Join(rec.Dir(), m.Tracks[0].File), true)
	vs, _ := vp.Stream("video")
	// ffmpeg also decodes what it can of the torn frame.
	require.InDelta(t, vinfo.Frames, atoi(t, vs.Frames), 1)
	ap := testmedia.FFprobe(t, filepath.Join(rec.Dir(), m.Tracks[1].File), true)
	_, ok := ap.Stream("audio")
	require.True(t, ok)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	for _, c := range s {
		require.True(t, c >= '0' && c <= '9', "not a number: %q", s)
		n = n*10 + int(c-'0')
	}
	return n
}

func TestSpeakersAndLateTracks(t *testing.T) {
	media := testmedia.Generate(t, testmedia.Spec{Seconds: 6})
	clk := newFakeClock()
	rec := newRecording(t, clk)
	t0 := clk.Now()
	a, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/VP8", Participant: "alice"})
	require.NoError(t, err)
	rec.SetActiveSpeaker("alice")
	rec.SetActiveSpeaker("alice")
	feed(t, clk, t0, media.VideoPackets(t, 1), a, nil)
	require.NoError(t, a.Close())
	clk.Set(t0.Add(10 * time.Second))
	b, err := rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/VP8", Participant: "bob"})
	require.NoError(t, err)
	rec.SetActiveSpeaker("bob")
	feed(t, clk, t0.Add(10*time.Second), media.VideoPackets(t, 2), b, nil)
	require.NoError(t, rec.Close())
	_, err = rec.AddTrack(recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/VP8"})
	require.ErrorIs(t, err, recorder.ErrClosed)

	m, err := recorder.ReadManifest(rec.Dir())
	require.NoError(t, err)
	require.Len(t, m.Speakers, 2)
	require.Equal(t, "bob", m.Speakers[1].Participant)
	require.Equal(t, "t02-video.ivf", m.Tracks[1].File)
	off := m.Tracks[1].FirstMediaAt.Sub(*m.Tracks[0].FirstMediaAt).Seconds()
	require.InDelta(t, 10.0, off, 0.001)
	require.False(t, math.IsNaN(off))
}

func TestTrackSpecErrors(t *testing.T) {
	clk := newFakeClock()
	rec := newRecording(t, clk)
	defer func() { require.NoError(t, rec.Close()) }()
	tests := []struct {
		name string
		spec recorder.TrackSpec
	}{
		{"av1", recorder.TrackSpec{Kind: recorder.KindVideo, Codec: "video/AV1"}},
		{"pcmu", recorder.TrackSpec{Kind: recorder.KindAudio, Codec: "audio/PCMU"}},
		{"no kind", recorder.TrackSpec{Codec: "video/VP8"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rec.AddTrack(tc.spec)
			require.ErrorIs(t, err, recorder.ErrUnsupportedCodec)
		})
	}
	require.Empty(t, rec.Manifest().Tracks)
}

func TestCreateAndManifestErrors(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"", "../x", "a/b", ".hidden"} {
		_, err := recorder.Create(filepath.Join(dir, "x"), recorder.Info{ID: id}, recorder.Options{})
		require.ErrorIs(t, err, recorder.ErrInvalidID, "id %q", id)
	}
	rec, err := recorder.Create(filepath.Join(dir, "ok"), recorder.Info{ID: "ok"}, recorder.Options{})
	require.NoError(t, err)
	require.NoError(t, rec.Close())
	_, err = recorder.Create(filepath.Join(dir, "ok"), recorder.Info{ID: "ok"}, recorder.Options{})
	require.ErrorIs(t, err, os.ErrExist)

	bad := `{"version":1,"id":"x","started_at":"2025-01-01T00:00:00Z","tracks":[{"id":"t01","file":"../../etc/passwd","kind":"video"}]}`
	tests := map[string]string{
		"traversal": bad,
		"version":   `{"version":9,"id":"x","tracks":[]}`,
		"json":      `{`,
		"kind":      `{"version":1,"id":"x","tracks":[{"id":"t01","file":"a.ivf","kind":"smell"}]}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(d, recorder.ManifestFile), []byte(body), 0o600))
			_, err := recorder.ReadManifest(d)
			require.ErrorIs(t, err, recorder.ErrInvalidManifest)
		})
	}
	_, err = recorder.ReadManifest(t.TempDir())
	require.ErrorIs(t, err, recorder.ErrInvalidManifest)
}
