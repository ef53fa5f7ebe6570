package packager

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plenaryhq/plenary/recorder"
)

// job is everything the encode command is built from.
type job struct {
	srcs       []source
	scenes     []scene
	renditions []Rendition
	total      float64
	w, h       int
	opts       Options
	staging    string
}

// placement is one stretch of time a scaled branch is drawn at (x, y).
type placement struct {
	start, end float64
	x, y       int
}

// branch is one scaled copy of a video source, drawn at one cell size.
type branch struct {
	src    int
	w, h   int
	places []placement
}

// branches groups the scenes' cells by (source, cell size), so each source
// is split once per size it is shown at.
func branches(scenes []scene) []branch {
	var out []branch
	find := func(src, w, h int) *branch {
		for i := range out {
			if out[i].src == src && out[i].w == w && out[i].h == h {
				return &out[i]
			}
		}
		out = append(out, branch{src: src, w: w, h: h})
		return &out[len(out)-1]
	}
	for _, sc := range scenes {
		for k, src := range sc.videos {
			c := sc.cells[k]
			b := find(src, c.w, c.h)
			b.places = append(b.places, placement{start: sc.start, end: sc.end, x: c.x, y: c.y})
		}
	}
	return out
}

// filterGraph builds the -filter_complex script: inputs are numbered in
// srcs order.
func (j *job) filterGraph() string {
	var g strings.Builder
	fps := j.opts.FPS
	fmt.Fprintf(&g, "color=c=black:s=%dx%d:r=%d:d=%s,format=yuv420p[base];\n", j.w, j.h, fps, ff(j.total))

	// Video: each source once, split per cell size, each branch overlaid
	// over its whole life with time expressions choosing when and where.
	bs := branches(j.scenes)
	perSrc := map[int][]int{}
	for i, b := range bs {
		perSrc[b.src] = append(perSrc[b.src], i)
	}
	for i, s := range j.srcs {
		idx := perSrc[i]
		if s.track.Kind != recorder.KindVideo || len(idx) == 0 {
			continue
		}
		fmt.Fprintf(&g, "[%d:v]setpts=PTS-STARTPTS+%s/TB", i, ff(s.start))
		if len(idx) == 1 {
			fmt.Fprintf(&g, "[s%d_0];\n", i)
		} else {
			fmt.Fprintf(&g, ",split=%d", len(idx))
			for k := range idx {
				fmt.Fprintf(&g, "[s%d_%d]", i, k)
			}
			g.WriteString(";\n")
		}
		for k, bi := range idx {
			b := bs[bi]
			fmt.Fprintf(&g, "[s%d_%d]scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1[b%d];\n",
				i, k, b.w, b.h, b.w, b.h, bi)
		}
	}
	last := "base"
	for bi, b := range bs {
		var enable, x, y strings.Builder
		x.WriteString(strconv.Itoa(b.places[len(b.places)-1].x))
		y.WriteString(strconv.Itoa(b.places[len(b.places)-1].y))
		for k, p := range b.places {
			if k > 0 {
				enable.WriteString("+")
			}
			cond := fmt.Sprintf("gte(t,%s)*lt(t,%s)", ff(p.start), ff(p.end))
			enable.WriteString(cond)
			if k < len(b.places)-1 {
				xs, ys := x.String(), y.String()
				x.Reset()
				y.Reset()
				fmt.Fprintf(&x, "if(%s,%d,%s)", cond, p.x, xs)
				fmt.Fprintf(&y, "if(%s,%d,%s)", cond, p.y, ys)
			}
		}
		out := fmt.Sprintf("o%d", bi)
		fmt.Fprintf(&g, "[%s][b%d]overlay=x='%s':y='%s':eval=frame:eof_action=pass:enable='%s'[%s];\n",
			last, bi, x.String(), y.String(), enable.String(), out)
		last = out
	}
	n := len(j.renditions)
	fmt.Fprintf(&g, "[%s]split=%d", last, n)
	for r := range n {
		fmt.Fprintf(&g, "[c%d]", r)
	}
	g.WriteString(";\n")
	for r, rd := range j.renditions {
		fmt.Fprintf(&g, "[c%d]scale=%d:%d[v%d];\n", r, rd.Width, rd.Height, r)
	}

	// Audio: each track delayed to its offset (in samples, so no rounding
	// to milliseconds), mixed without level normalisation, padded with
	// silence to the end; silence alone when nothing was recorded.
	var mix []string
	for i, s := range j.srcs {
		if s.track.Kind != recorder.KindAudio {
			continue
		}
		delay := int64(s.start*48000 + 0.5)
		fmt.Fprintf(&g, "[%d:a]aresample=48000,asetpts=PTS-STARTPTS,aformat=channel_layouts=stereo,adelay=delays=%dS:all=1[a%d];\n", i, delay, i)
		mix = append(mix, fmt.Sprintf("[a%d]", i))
	}
	switch len(mix) {
	case 0:
		g.WriteString("anullsrc=r=48000:cl=stereo[amix];\n")
	case 1:
		fmt.Fprintf(&g, "%sapad[amix];\n", mix[0])
	default:
		fmt.Fprintf(&g, "%samix=inputs=%d:duration=longest:dropout_transition=0:normalize=0,apad[amix];\n", strings.Join(mix, ""), len(mix))
	}
	fmt.Fprintf(&g, "[amix]asplit=%d", n)
	for r := range n {
		fmt.Fprintf(&g, "[ao%d]", r)
	}
	g.WriteString("\n")
	return g.String()
}

// encodeArgs builds the ffmpeg command line; script is the path of the
// filter graph file.
func (j *job) encodeArgs(script string) []string {
	o := j.opts
	gop := o.SegmentSeconds * o.FPS
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "warning", "-nostats", "-progress", "pipe:1", "-y"}
	if o.Threads > 0 {
		args = append(args, "-threads", strconv.Itoa(o.Threads))
	}
	for _, s := range j.srcs {
		if s.track.Kind == recorder.KindVideo {
			// A publisher may change resolution mid-stream (simulcast,
			// congestion); keep the graph and let scale adapt.
			args = append(args, "-reinit_filter", "0")
		}
		args = append(args, "-i", s.input)
	}
	args = append(args, "-filter_complex_script", script)
	var vsm []string
	for r, rd := range j.renditions {
		args = append(args, "-map", fmt.Sprintf("[v%d]", r), "-map", fmt.Sprintf("[ao%d]", r))
		rs := strconv.Itoa(r)
		args = append(args,
			"-b:v:"+rs, fmt.Sprintf("%dk", rd.VideoKbps),
			"-maxrate:v:"+rs, fmt.Sprintf("%dk", rd.VideoKbps*107/100),
			"-bufsize:v:"+rs, fmt.Sprintf("%dk", rd.VideoKbps*2),
			"-b:a:"+rs, fmt.Sprintf("%dk", rd.AudioKbps),
		)
		vsm = append(vsm, fmt.Sprintf("v:%d,a:%d,name:%s", r, r, rd.Name))
	}
	args = append(args,
		"-c:v", "libx264", "-preset", o.Preset, "-profile:v", "high", "-pix_fmt", "yuv420p",
		"-r", strconv.Itoa(o.FPS),
		// Keyframes exactly at segment boundaries and nowhere else, in
		// every rendition: segments are independent and aligned. No
		// boundary is forced in the last half segment, which therefore
		// joins the one before instead of becoming a sliver.
		"-g", strconv.Itoa(2*gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0",
		"-force_key_frames", fmt.Sprintf("expr:lt(t,%s)*gte(t,n_forced*%d)",
			ff(j.total-float64(o.SegmentSeconds)/2), o.SegmentSeconds),
		"-c:a", "aac", "-ar", "48000", "-ac", "2",
		"-t", ff(j.total),
		"-f", "hls",
		"-hls_time", strconv.Itoa(o.SegmentSeconds),
		"-hls_playlist_type", "vod",
		"-hls_list_size", "0",
		"-hls_flags", "independent_segments",
		"-hls_segment_type", "mpegts",
		"-hls_segment_filename", filepath.Join(j.staging, "%v", "seg_%05d.ts"),
		"-master_pl_name", MasterPlaylist,
		"-var_stream_map", strings.Join(vsm, " "),
		filepath.Join(j.staging, "%v", "index.m3u8"),
	)
	return args
}

// posterArgs grabs one frame of the top rendition at t seconds.
func posterArgs(playlist, out string, t float64) []string {
	return []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y",
		"-ss", ff(t), "-i", playlist, "-frames:v", "1", "-q:v", "3", out}
}

// ff formats seconds for ffmpeg with millisecond precision.
func ff(s float64) string { return strconv.FormatFloat(s, 'f', 3, 64) }
