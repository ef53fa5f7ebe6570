package packager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/plenaryhq/plenary/recorder"
)

// filterScript is the filter graph file written next to the outputs while
// encoding (graphs of long sessions outgrow a command line).
const filterScript = "filter_complex.txt"

// Package encodes the recording in directory in into an HLS VOD in
// directory out: out/master.m3u8, out/<height>p/index.m3u8 with its
// segments, out/poster.jpg and out/vod.json (the Result).
//
// Work happens in a hidden sibling directory that replaces out only when
// everything succeeded, so out never holds half a VOD. progress, if not nil,
// receives reports while ffmpeg runs. Errors wrap ErrNoMedia (the recording
// has nothing playable, retrying is pointless), ErrOutputExists, or are an
// *FFmpegError carrying ffmpeg's stderr tail.
func Package(ctx context.Context, in, out string, opts Options, progress ProgressFunc) (res Result, err error) {
	opts = opts.withDefaults()
	start := time.Now()
	packagingActive.Inc()
	defer func() {
		packagingActive.Dec()
		switch {
		case err == nil:
			packagingTotal.WithLabelValues("ok").Inc()
		case ctx.Err() != nil:
			packagingTotal.WithLabelValues("canceled").Inc()
		default:
			packagingTotal.WithLabelValues("error").Inc()
		}
	}()
	report := func(p Progress) {
		packagingProgress.Set(p.Fraction())
		if progress != nil {
			progress(p)
		}
	}

	m, err := recorder.ReadManifest(in)
	if err != nil {
		return res, err
	}
	if !opts.Overwrite && !emptyOrMissing(out) {
		return res, fmt.Errorf("%w: %s", ErrOutputExists, out)
	}
	srcs, origin, err := loadSources(ctx, in, m, opts)
	if err != nil {
		return res, err
	}
	total := 0.0
	for _, s := range srcs {
		total = max(total, s.end())
	}
	// Whole frames only, so that no stream outlasts the video by a sliver.
	total = roundMs(math.Floor(total*float64(opts.FPS)) / float64(opts.FPS))
	if total < minScene {
		return res, ErrNoMedia
	}
	w, h := canvasSize(srcs, opts.Ladder)
	j := &job{
		srcs:       srcs,
		renditions: selectRenditions(opts.Ladder, w, h, opts.MinRenditions),
		total:      total,
		w:          w,
		h:          h,
		opts:       opts,
	}
	var speakers []speakerAt
	for _, sp := range m.Speakers {
		speakers = append(speakers, speakerAt{at: sp.At.Sub(origin).Seconds(), participant: sp.Participant})
	}
	j.scenes = planScenes(srcs, speakers, opts.Layout, total, w, h)

	if err := os.MkdirAll(filepath.Dir(filepath.Clean(out)), 0o750); err != nil {
		return res, fmt.Errorf("packager: %w", err)
	}
	staging, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), "."+filepath.Base(out)+".partial-")
	if err != nil {
		return res, fmt.Errorf("packager: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(staging)
		}
	}()
	j.staging = staging
	script := filepath.Join(staging, filterScript)
	if err := os.WriteFile(script, []byte(j.filterGraph()), 0o600); err != nil {
		return res, fmt.Errorf("packager: %w", err)
	}
	opts.Log.Debug("packaging", "recording", m.ID, "duration", total, "size", fmt.Sprintf("%dx%d", w, h),
		"renditions", len(j.renditions), "scenes", len(j.scenes), "tracks", len(srcs))

	report(Progress{Step: "encode", Total: total})
	if err := runFFmpeg(ctx, opts.FFmpeg, "encode", j.encodeArgs(script), func(b map[string]string) {
		report(parseProgress(b, total))
	}); err != nil {
		return res, err
	}
	report(Progress{Step: "poster", Done: total, Total: total})
	top := j.renditions[0]
	posterAt := opts.PosterAt.Seconds()
	if posterAt <= 0 || posterAt >= total {
		posterAt = min(5, total/2)
	}
	if err := runFFmpeg(ctx, opts.FFmpeg, "poster",
		posterArgs(filepath.Join(staging, top.Playlist), filepath.Join(staging, PosterFile), posterAt), nil); err != nil {
		return res, err
	}
	if _, err := os.Stat(filepath.Join(staging, MasterPlaylist)); err != nil {
		return res, &FFmpegError{Step: "encode", Err: fmt.Errorf("no master playlist: %w", err)}
	}

	elapsed := time.Since(start)
	res = Result{
		Recording:      m.ID,
		Duration:       total,
		Width:          top.Width,
		Height:         top.Height,
		Master:         MasterPlaylist,
		Poster:         PosterFile,
		Renditions:     j.renditions,
		SegmentSeconds: opts.SegmentSeconds,
		Elapsed:        elapsed,
		Speed:          total / elapsed.Seconds(),
	}
	for _, sc := range j.scenes {
		s := Scene{Start: sc.start, End: sc.end, Tracks: []string{}}
		for _, i := range sc.videos {
			s.Tracks = append(s.Tracks, srcs[i].track.ID)
		}
		res.Scenes = append(res.Scenes, s)
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return res, fmt.Errorf("packager: %w", err)
	}
	if err := os.WriteFile(filepath.Join(staging, ResultFile), append(b, '\n'), 0o640); err != nil { //nolint:gosec // served to players
		return res, fmt.Errorf("packager: %w", err)
	}
	if err := os.Remove(script); err != nil {
		return res, fmt.Errorf("packager: %w", err)
	}
	if err := publish(staging, out, opts.Overwrite); err != nil {
		return res, err
	}
	packagingSeconds.Observe(elapsed.Seconds())
	packagedMediaSeconds.Add(total)
	packagingSpeed.Observe(res.Speed)
	report(Progress{Step: "done", Done: total, Total: total})
	return res, nil
}

// publish moves the finished staging directory to out.
func publish(staging, out string, overwrite bool) error {
	if _, err := os.Stat(out); err == nil {
		if !overwrite && !emptyOrMissing(out) {
			return fmt.Errorf("%w: %s", ErrOutputExists, out)
		}
		if err := os.RemoveAll(out); err != nil {
			return fmt.Errorf("packager: replace %s: %w", out, err)
		}
	}
	if err := os.Chmod(staging, 0o750); err != nil { //nolint:gosec // a media directory others may serve
		return fmt.Errorf("packager: %w", err)
	}
	if err := os.Rename(staging, out); err != nil {
		return fmt.Errorf("packager: publish %s: %w", out, err)
	}
	return nil
}

// emptyOrMissing reports whether dir does not exist or has no entries.
func emptyOrMissing(dir string) bool {
	f, err := os.Open(dir) //nolint:gosec // the caller's output directory
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	_, err = f.Readdirnames(1)
	return errors.Is(err, io.EOF)
}
