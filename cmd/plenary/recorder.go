package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/plenaryhq/plenary/internal/logging"
	"github.com/plenaryhq/plenary/recorder/packager"
)

const recorderPackageSynopsis = `Packages a recording directory (layout in docs/recording.md) into an
adaptive-bitrate HLS VOD with ffmpeg: an H.264/AAC ladder that never upscales,
a master playlist with BANDWIDTH/RESOLUTION/CODECS, and a poster image.
Progress goes to stderr; the result (vod.json) is printed on stdout.`

func runRecorder(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "package" {
		fmt.Fprintln(stderr, "Usage: plenary recorder package --in DIR --out DIR [flags]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("%w: want a subcommand: package", errUsage)
	}
	fs := newFlagSet("recorder package", recorderPackageSynopsis, stderr)
	var (
		in, out, layout, preset string
		segment, threads        int
		overwrite, quiet        bool
	)
	fs.StringVar(&in, "in", "", "recording directory to package (required)")
	fs.StringVar(&out, "out", "", "output directory for the HLS VOD (required)")
	fs.StringVar(&layout, "layout", "auto", "video layout: auto (active speaker, grid when several overlap), speaker or grid")
	fs.StringVar(&preset, "preset", "veryfast", "x264 preset: faster presets package quicker at more bits")
	fs.IntVar(&segment, "segment-seconds", 4, "HLS segment length in seconds")
	fs.IntVar(&threads, "threads", 0, "ffmpeg threads (0 = ffmpeg decides)")
	fs.BoolVar(&overwrite, "overwrite", false, "replace a non-empty output directory")
	fs.BoolVar(&quiet, "quiet", false, "no progress output")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if in == "" || out == "" {
		return fmt.Errorf("%w: --in and --out are required", errUsage)
	}
	lay, err := packager.ParseLayout(layout)
	if err != nil {
		return fmt.Errorf("%w: --layout: %w", errUsage, err)
	}
	var last time.Time
	progress := func(p packager.Progress) {
		if quiet || (time.Since(last) < time.Second && p.Step != "done") {
			return
		}
		last = time.Now()
		fmt.Fprintf(stderr, "%-6s %5.1f%%  %6.1fs of %.1fs  %.2fx  %d frames\n", p.Step, 100*p.Fraction(), p.Done, p.Total, p.Speed, p.Frames)
	}
	res, err := packager.Package(ctx, in, out, packager.Options{
		SegmentSeconds: segment, Layout: lay, Preset: preset, Threads: threads, Overwrite: overwrite,
		Log: logging.New(stderr, "warn", "text"),
	}, progress)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}
