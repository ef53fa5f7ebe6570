package packager

import (
	"math"
	"slices"
	"strconv"

	"github.com/plenaryhq/plenary/recorder"
)

// minScene is the shortest scene kept (one frame at 30 fps); shorter ones
// come from tracks starting a few milliseconds apart and would only flicker.
const minScene = 1.0 / 30

// cell is where one video is drawn.
type cell struct{ x, y, w, h int }

// scene is a stretch [start, end) of the timeline with one layout: the
// video sources shown (indices into the source list) and their cells.
type scene struct {
	start, end float64
	videos     []int
	cells      []cell
}

// speakerAt is an active-speaker change on the timeline.
type speakerAt struct {
	at          float64
	participant string
}

// planScenes cuts [0, total) wherever a video starts or stops (and, for
// LayoutSpeaker, where the speaker changes) and lays out each piece on a
// w×h canvas. Adjacent pieces with the same layout are merged.
func planScenes(srcs []source, speakers []speakerAt, layout Layout, total float64, w, h int) []scene {
	cuts := []float64{0, total}
	var videos []int
	for i, s := range srcs {
		if s.track.Kind == recorder.KindVideo {
			videos = append(videos, i)
			cuts = append(cuts, s.start, s.end())
		}
	}
	if layout == LayoutSpeaker {
		for _, sp := range speakers {
			cuts = append(cuts, sp.at)
		}
	}
	slices.Sort(cuts)
	var out []scene
	for k := 0; k+1 < len(cuts); k++ {
		a, b := max(0, cuts[k]), min(total, cuts[k+1])
		if b-a < minScene {
			continue
		}
		mid := (a + b) / 2
		var live []int
		for _, i := range videos {
			if srcs[i].start <= mid && mid < srcs[i].end() {
				live = append(live, i)
			}
		}
		if layout == LayoutSpeaker {
			live = speakerOnly(srcs, live, speakers, mid)
		}
		sc := scene{start: a, end: b, videos: live, cells: gridCells(len(live), w, h)}
		if n := len(out); n > 0 && slices.Equal(out[n-1].videos, sc.videos) && out[n-1].end >= a-minScene {
			out[n-1].end = b
			continue
		}
		out = append(out, sc)
	}
	return out
}

// speakerOnly narrows live to the active speaker's video at time t, when
// the speaker is known and has live video.
func speakerOnly(srcs []source, live []int, speakers []speakerAt, t float64) []int {
	who := ""
	for _, sp := range speakers {
		if sp.at <= t {
			who = sp.participant
		}
	}
	if who == "" {
		return live
	}
	for _, i := range live {
		if srcs[i].track.Participant == who {
			return []int{i}
		}
	}
	return live
}

// gridCells lays n videos out on a w×h canvas: one full-frame, otherwise
// ceil(√n) columns, rows filled left to right, the last row centred.
func gridCells(n, w, h int) []cell {
	if n == 0 {
		return nil
	}
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	cw, ch := even(w/cols), even(h/rows)
	oy := (h - rows*ch) / 2
	out := make([]cell, 0, n)
	for i := range n {
		r, c := i/cols, i%cols
		inRow := cols
		if r == rows-1 {
			inRow = n - r*cols
		}
		ox := (w - inRow*cw) / 2
		out = append(out, cell{x: even(ox + c*cw), y: even(oy + r*ch), w: cw, h: ch})
	}
	return out
}

// canvasSize picks the composite's size: the tallest video's height, capped
// at the ladder's top, at 16:9.
func canvasSize(srcs []source, ladder []Rung) (int, int) {
	h := 0
	for _, s := range srcs {
		if s.track.Kind == recorder.KindVideo {
			h = max(h, s.height)
		}
	}
	top := 0
	for _, r := range ladder {
		top = max(top, r.Height)
	}
	if h == 0 {
		h = ladder[len(ladder)-1].Height // audio only: the smallest rung
	}
	h = even(min(h, top))
	return even(h * 16 / 9), h
}

// selectRenditions keeps the ladder rungs no taller than the source, adds
// the source's own height when it falls between rungs, and halves the
// smallest until there are at least minCount.
func selectRenditions(ladder []Rung, srcW, srcH, minCount int) []Rendition {
	rungs := slices.Clone(ladder)
	slices.SortFunc(rungs, func(a, b Rung) int { return b.Height - a.Height })
	var keep []Rung
	for _, r := range rungs {
		if r.Height <= srcH {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 || (keep[0].Height < srcH && srcH < rungs[0].Height) {
		keep = append([]Rung{scaledRung(rungs, srcH)}, keep...)
	}
	for len(keep) < minCount {
		h := even(keep[len(keep)-1].Height / 2)
		if h < 2 {
			break
		}
		keep = append(keep, scaledRung(rungs, h))
	}
	out := make([]Rendition, 0, len(keep))
	for _, r := range keep {
		out = append(out, Rendition{
			Name:      strconv.Itoa(r.Height) + "p",
			Width:     even(r.Height * srcW / srcH),
			Height:    r.Height,
			VideoKbps: r.VideoKbps,
			AudioKbps: r.AudioKbps,
			Playlist:  strconv.Itoa(r.Height) + "p/index.m3u8",
		})
	}
	return out
}

// scaledRung makes a rung of height h with bitrates scaled by pixel count
// from the nearest taller rung (or the shortest one).
func scaledRung(sorted []Rung, h int) Rung {
	ref := sorted[len(sorted)-1]
	for _, r := range sorted {
		if r.Height >= h {
			ref = r
		}
	}
	if ref.Height == h {
		return ref
	}
	ratio := float64(h*h) / float64(ref.Height*ref.Height)
	return Rung{Height: h, VideoKbps: max(100, int(float64(ref.VideoKbps)*ratio)), AudioKbps: ref.AudioKbps}
}

func even(n int) int { return n &^ 1 }
