// Package testmedia gives recorder tests real encoded media: it runs ffmpeg
// (libvpx, libx264, libopus) on lavfi test sources and turns the result into
// RTP packets with Pion's payloaders, exactly as a browser's packetizer
// would. No test in the recorder feeds made-up bytes.
//
// Encoding 720p VP8 is slow on a shared machine, so outputs are cached under
// the system temp directory, keyed by the ffmpeg arguments; the first test
// run pays for them, later runs reuse them.
package testmedia

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/h264reader"

	"github.com/plenaryhq/plenary/recorder/internal/container"
)

// Spec describes a clip to generate.
type Spec struct {
	// Width, Height and FPS of the video. Default 640x360 at 30.
	Width, Height, FPS int
	// Seconds of media. Default 10.
	Seconds int
	// VideoCodec is "vp8" (default) or "h264".
	VideoCodec string
	// KeyframeSeconds is the keyframe interval. Default 2.
	KeyframeSeconds int
	// Tone is the sine frequency in Hz, so that two participants differ.
	// Default 440.
	Tone int
}

func (s Spec) withDefaults() Spec {
	if s.Width == 0 || s.Height == 0 {
		s.Width, s.Height = 640, 360
	}
	if s.FPS == 0 {
		s.FPS = 30
	}
	if s.Seconds == 0 {
		s.Seconds = 10
	}
	if s.VideoCodec == "" {
		s.VideoCodec = "vp8"
	}
	if s.KeyframeSeconds == 0 {
		s.KeyframeSeconds = 2
	}
	if s.Tone == 0 {
		s.Tone = 440
	}
	return s
}

// Media is a generated clip: a video file (IVF for VP8, Annex-B for H.264)
// and an Ogg Opus file.
type Media struct {
	Spec  Spec
	Video string
	Audio string
}

// Available reports whether ffmpeg is installed; tests skip without it
// unless CI=true, where they fail.
func Available(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("ffmpeg not installed: %v", err)
		}
		tb.Skipf("ffmpeg not installed (apt-get install ffmpeg): %v", err)
	}
}

// Generate returns the clip for spec, encoding it with ffmpeg unless a cached
// copy exists.
func Generate(tb testing.TB, spec Spec) Media {
	tb.Helper()
	Available(tb)
	spec = spec.withDefaults()
	dur := strconv.Itoa(spec.Seconds)
	gop := strconv.Itoa(spec.KeyframeSeconds * spec.FPS)
	vsrc := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", spec.Width, spec.Height, spec.FPS)
	var vargs []string
	var vext string
	switch spec.VideoCodec {
	case "vp8":
		vext = ".ivf"
		vargs = []string{"-f", "lavfi", "-i", vsrc, "-t", dur, "-c:v", "libvpx", "-deadline", "realtime",
			"-cpu-used", "8", "-b:v", "1200k", "-g", gop, "-keyint_min", gop, "-auto-alt-ref", "0", "-lag-in-frames", "0", "-an"}
	case "h264":
		vext = ".h264"
		vargs = []string{"-f", "lavfi", "-i", vsrc, "-t", dur, "-c:v", "libx264", "-preset", "ultrafast",
			"-profile:v", "baseline", "-pix_fmt", "yuv420p", "-bf", "0", "-g", gop, "-b:v", "1200k", "-an", "-f", "h264"}
	default:
		tb.Fatalf("testmedia: unknown codec %q", spec.VideoCodec)
	}
	aargs := []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000:beep_factor=4", spec.Tone),
		"-t", dur, "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-application", "audio"}
	return Media{
		Spec:  spec,
		Video: cached(tb, vargs, vext),
		Audio: cached(tb, aargs, ".ogg"),
	}
}

// cached runs ffmpeg args + output file once per distinct args.
func cached(tb testing.TB, args []string, ext string) string {
	tb.Helper()
	sum := sha256.Sum256([]byte(strings.Join(args, "\x00") + ext))
	dir := filepath.Join(os.TempDir(), "plenary-testmedia")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	out := filepath.Join(dir, hex.EncodeToString(sum[:8])+ext)
	if st, err := os.Stat(out); err == nil && st.Size() > 0 {
		return out
	}
	tmp, err := os.CreateTemp(dir, "gen-*"+ext)
	if err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	_ = tmp.Close()
	full := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	full = append(full, tmp.Name())
	start := time.Now()
	cmd := exec.Command("ffmpeg", full...) //nolint:gosec // test helper, fixed arguments
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(tmp.Name())
		tb.Fatalf("testmedia: ffmpeg %s: %v\n%s", strings.Join(full, " "), err, stderr.String())
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	tb.Logf("testmedia: generated %s in %s", filepath.Base(out), time.Since(start).Round(time.Millisecond))
	return out
}

// Packet is one RTP packet of a clip and the media time it is due at.
type Packet struct {
	At   time.Duration
	RTP  *rtp.Packet
	Kind string // "audio" or "video"
}

// Payload types used in the generated RTP, as browsers commonly offer them.
const (
	PayloadTypeVP8  = 96
	PayloadTypeH264 = 102
	PayloadTypeOpus = 111
)

const mtu = 1200

// VideoPackets packetizes the clip's video into RTP (90 kHz clock).
func (m Media) VideoPackets(tb testing.TB, ssrc uint32) []Packet {
	tb.Helper()
	f, err := os.Open(m.Video)
	if err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	defer func() { _ = f.Close() }()
	var frames []container.IVFFrame
	var pt uint8
	var payloader rtp.Payloader
	switch m.Spec.VideoCodec {
	case "vp8":
		r, err := container.NewIVFReader(f)
		if err != nil {
			tb.Fatalf("testmedia: %v", err)
		}
		for {
			fr, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			fr.PTS = fr.PTS * 90000 * uint64(r.Header.TimebaseNum) / uint64(r.Header.TimebaseDen)
			frames = append(frames, fr)
		}
		pt, payloader = PayloadTypeVP8, &codecs.VP8Payloader{EnablePictureID: true}
	case "h264":
		frames = h264AccessUnits(tb, f, m.Spec.FPS)
		pt, payloader = PayloadTypeH264, &codecs.H264Payloader{}
	}
	var out []Packet
	seq := uint16(ssrc)
	base := ssrc * 7
	for _, fr := range frames {
		at := time.Duration(fr.PTS) * time.Second / 90000 //nolint:gosec // small
		payloads := payloader.Payload(mtu, fr.Data)
		for i, p := range payloads {
			out = append(out, Packet{At: at, Kind: "video", RTP: &rtp.Packet{
				Header: rtp.Header{
					Version: 2, PayloadType: pt, SequenceNumber: seq, SSRC: ssrc,
					Timestamp: base + uint32(fr.PTS), //nolint:gosec // wraps like RTP does
					Marker:    i == len(payloads)-1,
				},
				Payload: p,
			}})
			seq++
		}
	}
	return out
}

// h264AccessUnits splits an Annex-B stream into access units (one slice per
// frame, as the generator encodes) with timestamps from the frame rate.
func h264AccessUnits(tb testing.TB, r io.Reader, fps int) []container.IVFFrame {
	tb.Helper()
	hr, err := h264reader.NewReader(r)
	if err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	var out []container.IVFFrame
	var au []byte
	for {
		nal, err := hr.NextNAL()
		if err != nil {
			break
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		if t := nal.UnitType; t == h264reader.NalUnitTypeCodedSliceNonIdr || t == h264reader.NalUnitTypeCodedSliceIdr {
			out = append(out, container.IVFFrame{Data: au, PTS: uint64(len(out)) * 90000 / uint64(fps)}) //nolint:gosec // fps > 0
			au = nil
		}
	}
	return out
}

// AudioPackets packetizes the clip's Opus packets into RTP (48 kHz clock),
// one Opus packet per RTP packet (RFC 7587).
func (m Media) AudioPackets(tb testing.TB, ssrc uint32) []Packet {
	tb.Helper()
	f, err := os.Open(m.Audio)
	if err != nil {
		tb.Fatalf("testmedia: %v", err)
	}
	defer func() { _ = f.Close() }()
	r := container.NewOggReader(f)
	var out []Packet
	var ts uint32
	seq := uint16(ssrc) + 1000
	n := 0
	for {
		pkt, err := r.NextPacket()
		if err != nil {
			break
		}
		n++
		if n <= 2 { // OpusHead, OpusTags
			continue
		}
		samples := container.OpusPacketSamples(pkt)
		out = append(out, Packet{
			At:   time.Duration(ts) * time.Second / 48000,
			Kind: "audio",
			RTP: &rtp.Packet{
				Header: rtp.Header{
					Version: 2, PayloadType: PayloadTypeOpus, SequenceNumber: seq, SSRC: ssrc,
					Timestamp: ssrc*3 + ts, Marker: n == 3,
				},
				Payload: pkt,
			},
		})
		seq++
		ts += uint32(samples) //nolint:gosec // at most 5760
	}
	return out
}

// Merge interleaves packet lists by due time, stable within a list.
func Merge(lists ...[]Packet) []Packet {
	var out []Packet
	idx := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if idx[i] < len(l) && (best < 0 || l[idx[i]].At < lists[best][idx[best]].At) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, lists[best][idx[best]])
		idx[best]++
	}
}
