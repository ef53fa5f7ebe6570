package packager

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/internal/container"
)

// source is one playable track file placed on the timeline.
type source struct {
	track recorder.Track
	// input is what ffmpeg opens: the file, or a subfile: URL that stops
	// before a torn tail.
	input string
	// start is when the track's timestamp 0 plays, duration how long its
	// media lasts, both in seconds; start is relative to the earliest
	// track once normalised.
	start, duration float64
	width, height   int
}

func (s source) end() float64 { return s.start + s.duration }

// loadSources reads each track's file, drops the ones without media and
// places the rest on a timeline whose 0 (the returned origin) is the
// earliest media.
func loadSources(ctx context.Context, dir string, m recorder.Manifest, o Options) ([]source, time.Time, error) {
	var out []source
	var origin time.Time
	for _, t := range m.Tracks {
		path := filepath.Join(dir, t.File)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			continue // no keyframe ever arrived
		}
		at := t.AddedAt
		if t.FirstMediaAt != nil {
			at = *t.FirstMediaAt
		}
		s := source{track: t, input: path}
		switch t.Kind {
		case recorder.KindVideo:
			info, err := container.ScanIVF(path)
			if err != nil {
				o.Log.Warn("skipping unreadable video track", "track", t.ID, "err", err)
				continue
			}
			if info.Frames == 0 {
				continue
			}
			s.duration = info.Duration()
			if info.Truncated {
				s.input = subfile(path, info.ValidSize)
			}
			s.width, s.height = t.Width, t.Height
			if s.width == 0 || s.height == 0 {
				w, h, err := probeSize(ctx, o.FFprobe, s.input)
				if err != nil {
					return nil, origin, err
				}
				s.width, s.height = w, h
			}
		case recorder.KindAudio:
			info, err := container.ScanOgg(path)
			if err != nil {
				o.Log.Warn("skipping unreadable audio track", "track", t.ID, "err", err)
				continue
			}
			if info.Duration() <= 0 {
				continue
			}
			s.duration = info.Duration()
			// The decoder drops the first PreSkip samples (RFC 7845 §4.2),
			// so what it outputs first was captured that much later.
			at = at.Add(time.Duration(info.PreSkip) * time.Second / container.OpusGranuleRate)
			if info.Truncated {
				s.input = subfile(path, info.ValidSize)
			}
		default:
			continue
		}
		if origin.IsZero() || at.Before(origin) {
			origin = at
		}
		s.start = float64(at.UnixNano()) / 1e9
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, origin, ErrNoMedia
	}
	base := float64(origin.UnixNano()) / 1e9
	for i := range out {
		out[i].start = roundMs(out[i].start - base)
	}
	return out, origin, nil
}

// subfile names the first size bytes of path with ffmpeg's subfile
// protocol, so that ffmpeg never reads a torn last frame or page.
func subfile(path string, size int64) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return fmt.Sprintf("subfile,,start,0,end,%d,,:%s", size, abs)
}

// probeSize asks ffprobe for the first video stream's size (H.264 and VP9
// files, whose headers the recorder does not parse).
func probeSize(ctx context.Context, ffprobe, input string) (int, int, error) {
	cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-select_streams", "v:0", //nolint:gosec // fixed binary, path from the manifest
		"-show_entries", "stream=width,height", "-of", "csv=p=0", input)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return 0, 0, &FFmpegError{Step: "probe", Err: err, Stderr: stderr.String()}
	}
	parts := strings.Split(strings.TrimSpace(out.String()), ",")
	if len(parts) < 2 {
		return 0, 0, &FFmpegError{Step: "probe", Err: fmt.Errorf("no video size in %q", out.String())}
	}
	w, err1 := strconv.Atoi(parts[0])
	h, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return 0, 0, &FFmpegError{Step: "probe", Err: fmt.Errorf("bad video size %q", out.String())}
	}
	return w, h, nil
}

func roundMs(s float64) float64 {
	return float64(int64(s*1000+0.5)) / 1000
}
