package packager

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/recorder"
)

func vsrc(id, who string, start, dur float64) source {
	return source{track: recorder.Track{ID: id, Kind: recorder.KindVideo, Participant: who}, start: start, duration: dur, width: 1280, height: 720}
}

func TestPlanScenes(t *testing.T) {
	alice, bob, carol := vsrc("t01", "alice", 0, 10), vsrc("t02", "bob", 4, 10), vsrc("t03", "carol", 6, 2)
	audio := source{track: recorder.Track{ID: "t04", Kind: recorder.KindAudio}, start: 0, duration: 20}
	type want struct {
		start, end float64
		videos     []int
	}
	tests := []struct {
		name     string
		srcs     []source
		speakers []speakerAt
		layout   Layout
		total    float64
		want     []want
	}{
		{"one speaker", []source{alice}, nil, LayoutAuto, 10, []want{{0, 10, []int{0}}}},
		{"overlap makes a grid", []source{alice, bob}, nil, LayoutAuto, 14,
			[]want{{0, 4, []int{0}}, {4, 10, []int{0, 1}}, {10, 14, []int{1}}}},
		{"three at once", []source{alice, bob, carol}, nil, LayoutAuto, 14,
			[]want{{0, 4, []int{0}}, {4, 6, []int{0, 1}}, {6, 8, []int{0, 1, 2}}, {8, 10, []int{0, 1}}, {10, 14, []int{1}}}},
		{"audio only tail is black", []source{alice, audio}, nil, LayoutAuto, 20,
			[]want{{0, 10, []int{0}}, {10, 20, nil}}},
		{"speaker layout", []source{alice, bob}, []speakerAt{{5, "bob"}, {7, "alice"}, {9, "dave"}}, LayoutSpeaker, 14,
			[]want{{0, 4, []int{0}}, {4, 5, []int{0, 1}}, {5, 7, []int{1}}, {7, 9, []int{0}}, {9, 10, []int{0, 1}}, {10, 14, []int{1}}}},
		{"tiny gap between tracks is dropped", []source{vsrc("a", "a", 0, 5), vsrc("b", "b", 5.01, 5)}, nil, LayoutAuto, 10.01,
			[]want{{0, 5, []int{0}}, {5.01, 10.01, []int{1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := planScenes(tc.srcs, tc.speakers, tc.layout, tc.total, 1280, 720)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				require.InDelta(t, w.start, got[i].start, 1e-9, "scene %d", i)
				require.InDelta(t, w.end, got[i].end, 1e-9, "scene %d", i)
				require.Equal(t, w.videos, got[i].videos, "scene %d", i)
				require.Len(t, got[i].cells, len(w.videos))
			}
		})
	}
}

func TestGridCells(t *testing.T) {
	require.Equal(t, []cell{{0, 0, 1280, 720}}, gridCells(1, 1280, 720))
	require.Equal(t, []cell{{0, 0, 640, 720}, {640, 0, 640, 720}}, gridCells(2, 1280, 720))
	// Three: 2×2 grid, the last row centred.
	require.Equal(t, []cell{{0, 0, 640, 360}, {640, 0, 640, 360}, {320, 360, 640, 360}}, gridCells(3, 1280, 720))
	for n := 1; n <= 16; n++ {
		for _, c := range gridCells(n, 1280, 720) {
			require.True(t, c.x >= 0 && c.y >= 0 && c.x+c.w <= 1280 && c.y+c.h <= 720, "n=%d cell %+v", n, c)
			require.Zero(t, c.w%2+c.h%2+c.x%2+c.y%2, "even geometry for yuv420p")
		}
	}
}

func TestSelectRenditions(t *testing.T) {
	tests := []struct {
		srcH int
		want []int
	}{
		{1080, []int{1080, 720, 360}},
		{720, []int{720, 360}},
		{480, []int{480, 360}},
		{360, []int{360, 180}},
		{240, []int{240, 120}},
	}
	for _, tc := range tests {
		got := selectRenditions(DefaultLadder, even(tc.srcH*16/9), tc.srcH, 2)
		var hs []int
		for _, r := range got {
			hs = append(hs, r.Height)
			require.LessOrEqual(t, r.Height, tc.srcH, "never upscale")
			require.Zero(t, r.Width%2)
			require.Positive(t, r.VideoKbps)
			require.Equal(t, r.Name+"/index.m3u8", r.Playlist)
		}
		require.Equal(t, tc.want, hs, "source %dp", tc.srcH)
	}
	r := selectRenditions(DefaultLadder, 854, 480, 2)
	require.Equal(t, 854, r[0].Width)
	require.Less(t, r[0].VideoKbps, 2800)
	require.Greater(t, r[0].VideoKbps, 800)
}

func TestCanvasSize(t *testing.T) {
	w, h := canvasSize([]source{vsrc("a", "", 0, 1)}, DefaultLadder)
	require.Equal(t, [2]int{1280, 720}, [2]int{w, h})
	big := vsrc("b", "", 0, 1)
	big.height = 2160
	w, h = canvasSize([]source{big}, DefaultLadder)
	require.Equal(t, [2]int{1920, 1080}, [2]int{w, h}, "capped at the top rung")
	w, h = canvasSize([]source{{track: recorder.Track{Kind: recorder.KindAudio}}}, DefaultLadder)
	require.Equal(t, [2]int{640, 360}, [2]int{w, h}, "audio only")
}

func TestParseProgress(t *testing.T) {
	p := parseProgress(map[string]string{"out_time_us": "15000000", "speed": "1.5x", "frame": "450", "progress": "continue"}, 30)
	require.InDelta(t, 15, p.Done, 1e-9)
	require.InDelta(t, 0.5, p.Fraction(), 1e-9)
	require.InDelta(t, 1.5, p.Speed, 1e-9)
	require.Equal(t, 450, p.Frames)
	p = parseProgress(map[string]string{"out_time_us": "N/A", "speed": "N/A", "progress": "end"}, 30)
	require.InDelta(t, 1, p.Fraction(), 1e-9)
	require.Zero(t, Progress{}.Fraction())
}

func TestTailBuffer(t *testing.T) {
	var b tailBuffer
	for i := range 30 {
		_, _ = b.Write([]byte(fmt.Sprintf("line %d\n", i)))
	}
	_, _ = b.Write([]byte("partial"))
	s := b.String()
	require.Contains(t, s, "partial")
	require.NotContains(t, s, "line 9\n", "only the last lines are kept")
	require.Contains(t, s, "line 29\n")
}

func TestLayoutParse(t *testing.T) {
	for _, s := range []string{"", "auto", "grid", "speaker"} {
		l, err := ParseLayout(s)
		require.NoError(t, err)
		if s == "speaker" {
			require.Equal(t, LayoutSpeaker, l)
		}
	}
	_, err := ParseLayout("mosaic")
	require.Error(t, err)
	require.Equal(t, "speaker", LayoutSpeaker.String())
	require.Equal(t, "auto", LayoutAuto.String())
}

func TestFilterGraphBranches(t *testing.T) {
	srcs := []source{vsrc("t01", "alice", 0, 10), vsrc("t02", "bob", 4, 10),
		{track: recorder.Track{ID: "t03", Kind: recorder.KindAudio}, start: 0.08, duration: 14}}
	scenes := planScenes(srcs, nil, LayoutAuto, 14, 1280, 720)
	bs := branches(scenes)
	// alice: full then half; bob: half then full.
	require.Len(t, bs, 4)
	j := &job{srcs: srcs, scenes: scenes, renditions: selectRenditions(DefaultLadder, 1280, 720, 2),
		total: 14, w: 1280, h: 720, opts: Options{}.withDefaults(), staging: "/tmp/x"}
	g := j.filterGraph()
	require.Contains(t, g, "[0:v]setpts=PTS-STARTPTS+0.000/TB,split=2")
	require.Contains(t, g, "[1:v]setpts=PTS-STARTPTS+4.000/TB,split=2")
	require.Contains(t, g, "adelay=delays=3840S:all=1")
	require.Contains(t, g, "split=2[c0][c1]")
	args := j.encodeArgs("/tmp/x/f.txt")
	require.Contains(t, args, "v:0,a:0,name:720p v:1,a:1,name:360p")
	require.Contains(t, args, "expr:lt(t,12.000)*gte(t,n_forced*4)")
	_ = time.Second
}
