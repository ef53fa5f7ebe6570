package packager

import (
	"fmt"
	"log/slog"
	"time"
)

// Layout chooses how simultaneous video tracks share the frame.
type Layout uint8

// Layouts. The zero value is LayoutAuto.
const (
	// LayoutAuto shows a single live video full-frame and several in a grid.
	LayoutAuto Layout = iota
	// LayoutSpeaker shows the active speaker's video full-frame whenever the
	// manifest knows who speaks and that person has live video, and falls
	// back to LayoutAuto otherwise.
	LayoutSpeaker
)

// String returns "auto" or "speaker".
func (l Layout) String() string {
	switch l {
	case LayoutAuto:
		return "auto"
	case LayoutSpeaker:
		return "speaker"
	}
	return fmt.Sprintf("layout(%d)", uint8(l))
}

// ParseLayout parses "auto" (or "grid", or "") and "speaker".
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "", "auto", "grid":
		return LayoutAuto, nil
	case "speaker":
		return LayoutSpeaker, nil
	}
	return LayoutAuto, fmt.Errorf("packager: unknown layout %q (want auto or speaker)", s)
}

// Rung is one step of the bitrate ladder.
type Rung struct {
	// Height in pixels; the width follows the 16:9 canvas.
	Height int
	// VideoKbps is the H.264 target bitrate (maxrate is 7% above it, the
	// VBV buffer twice it); AudioKbps the AAC bitrate.
	VideoKbps, AudioKbps int
}

// DefaultLadder is 1080p/720p/360p.
var DefaultLadder = []Rung{
	{Height: 1080, VideoKbps: 5000, AudioKbps: 128},
	{Height: 720, VideoKbps: 2800, AudioKbps: 128},
	{Height: 360, VideoKbps: 800, AudioKbps: 96},
}

// Options tune Package. Zero fields take the defaults given on each.
type Options struct {
	// SegmentSeconds is the HLS segment length; every segment starts with a
	// keyframe, at the same instant in every rendition. Default 4.
	SegmentSeconds int
	// FPS of the output. Default 30.
	FPS int
	// Ladder lists the renditions to produce, largest first; rungs taller
	// than the source are skipped. Default DefaultLadder.
	Ladder []Rung
	// MinRenditions is the fewest renditions to produce: when the ladder
	// has fewer rungs at or below the source, the source height itself and
	// then halves of the smallest are added. Default 2.
	MinRenditions int
	// Layout of simultaneous video tracks. Default LayoutAuto.
	Layout Layout
	// Preset is the x264 preset. Default "veryfast".
	Preset string
	// Threads caps ffmpeg's threads; 0 lets ffmpeg decide.
	Threads int
	// PosterAt is where in the video the poster is taken. Default: 5 s, or
	// the middle of shorter videos.
	PosterAt time.Duration
	// FFmpeg and FFprobe are the binaries. Default "ffmpeg" and "ffprobe"
	// from PATH.
	FFmpeg, FFprobe string
	// Overwrite replaces a non-empty output directory instead of failing.
	Overwrite bool
	// Log receives progress at debug level and warnings. Default
	// slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.SegmentSeconds <= 0 {
		o.SegmentSeconds = 4
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if len(o.Ladder) == 0 {
		o.Ladder = DefaultLadder
	}
	if o.MinRenditions <= 0 {
		o.MinRenditions = 2
	}
	if o.Preset == "" {
		o.Preset = "veryfast"
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.FFprobe == "" {
		o.FFprobe = "ffprobe"
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Progress reports how far packaging has come.
type Progress struct {
	// Step is "encode", "poster" or "done".
	Step string
	// Done is how many seconds of output are encoded, of Total.
	Done, Total float64
	// Speed is ffmpeg's reported speed, × real time.
	Speed float64
	// Frames is the number of frames encoded so far.
	Frames int
}

// Fraction is Done/Total in [0, 1].
func (p Progress) Fraction() float64 {
	if p.Total <= 0 {
		return 0
	}
	return min(1, max(0, p.Done/p.Total))
}

// ProgressFunc receives progress reports; it is called from the goroutine
// reading ffmpeg's output and must not block for long.
type ProgressFunc func(Progress)

// Rendition is one HLS variant stream that was produced.
type Rendition struct {
	// Name is the variant's directory, e.g. "720p".
	Name string `json:"name"`
	// Width and Height in pixels.
	Width  int `json:"width"`
	Height int `json:"height"`
	// VideoKbps and AudioKbps are the target bitrates.
	VideoKbps int `json:"video_kbps"`
	AudioKbps int `json:"audio_kbps"`
	// Playlist is the media playlist's path relative to the output
	// directory, e.g. "720p/index.m3u8".
	Playlist string `json:"playlist"`
}

// Scene is a stretch of the timeline with one video layout.
type Scene struct {
	// Start and End in seconds from the start of the VOD.
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Tracks are the manifest IDs of the video tracks shown, in cell order.
	Tracks []string `json:"tracks"`
}

// Result describes a packaged VOD; Package also writes it to vod.json in the
// output directory.
type Result struct {
	// Recording is the manifest's recording ID.
	Recording string `json:"recording"`
	// Duration of the VOD in seconds.
	Duration float64 `json:"duration"`
	// Width and Height of the largest rendition.
	Width  int `json:"width"`
	Height int `json:"height"`
	// Master is the master playlist and Poster the poster image, both
	// relative to the output directory.
	Master string `json:"master"`
	Poster string `json:"poster"`
	// Renditions, largest first.
	Renditions []Rendition `json:"renditions"`
	// Scenes is the layout plan.
	Scenes []Scene `json:"scenes"`
	// SegmentSeconds is the target segment length.
	SegmentSeconds int `json:"segment_seconds"`
	// Elapsed is how long packaging took; Speed is Duration/Elapsed.
	Elapsed time.Duration `json:"elapsed_ns"`
	Speed   float64       `json:"speed"`
}

// Output file names inside the output directory.
const (
	MasterPlaylist = "master.m3u8"
	PosterFile     = "poster.jpg"
	ResultFile     = "vod.json"
)
