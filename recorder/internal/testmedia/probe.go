package testmedia

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
)

// Stream is one stream as ffprobe reports it.
type Stream struct {
	Index     int    `json:"index"`
	CodecType string `json:"codec_type"`
	CodecName string `json:"codec_name"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	Channels  int    `json:"channels"`
	Frames    string `json:"nb_read_frames"`
	Duration  string `json:"duration"`
}

// Probe is ffprobe's view of a file.
type Probe struct {
	Streams []Stream `json:"streams"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// Duration is the container duration in seconds (0 if unknown).
func (p Probe) Duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

// Stream returns the first stream of the given type ("audio", "video").
func (p Probe) Stream(kind string) (Stream, bool) {
	for _, s := range p.Streams {
		if s.CodecType == kind {
			return s, true
		}
	}
	return Stream{}, false
}

// FFprobe runs ffprobe on path; countFrames decodes the file to count frames
// (nb_read_frames), which also proves it is decodable.
func FFprobe(tb testing.TB, path string, countFrames bool) Probe {
	tb.Helper()
	args := []string{"-v", "error", "-print_format", "json", "-show_streams", "-show_format"}
	if countFrames {
		args = append(args, "-count_frames")
	}
	args = append(args, path)
	cmd := exec.Command("ffprobe", args...) //nolint:gosec // test helper
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	var p Probe
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		tb.Fatalf("ffprobe %s: %v", path, err)
	}
	return p
}

// Decode runs the file through ffmpeg's decoders and returns what ffmpeg
// printed at level error (empty for a clean file).
func Decode(tb testing.TB, path string) string {
	tb.Helper()
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-") //nolint:gosec // test helper
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("ffmpeg decode %s: %v\n%s", path, err, stderr.String())
	}
	return stderr.String()
}
