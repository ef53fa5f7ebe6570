package recorder

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/rtp/codecs"

	"github.com/plenaryhq/plenary/recorder/internal/container"
)

// depacketizer turns the payloads of one video codec back into frames.
type depacketizer interface {
	// fourcc is the IVF codec tag of the frames.
	fourcc() string
	// unpack parses one packet's payload: data to append to the current
	// frame, whether the packet starts a frame, and whether that frame is a
	// keyframe (meaningful only when start is true).
	unpack(payload []byte) (data []byte, start, key bool, err error)
	// keyframe reports whether a completed frame is a keyframe, for codecs
	// that only know once the frame is whole.
	keyframe(frame []byte, startKey bool) bool
	// size returns the frame size a keyframe declares, or 0, 0.
	size(frame []byte) (w, h int)
	// fixup may complete a frame before it is written (H.264 parameter sets).
	fixup(frame []byte, key bool) []byte
	// reset forgets partial state after loss.
	reset()
}

// newDepacketizer returns the depacketizer for an RTP video MIME type.
func newDepacketizer(mime string) (depacketizer, error) {
	switch normalizeMime(mime) {
	case "video/vp8":
		return &vp8Depacketizer{}, nil
	case "video/vp9":
		return &vp9Depacketizer{}, nil
	case "video/h264":
		return &h264Depacketizer{}, nil
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mime)
}

// vp8Depacketizer implements RFC 7741.
type vp8Depacketizer struct{ p codecs.VP8Packet }

func (*vp8Depacketizer) fourcc() string { return container.FourCCVP8 }
func (*vp8Depacketizer) reset()         {}

func (d *vp8Depacketizer) unpack(payload []byte) ([]byte, bool, bool, error) {
	data, err := d.p.Unmarshal(payload)
	if err != nil {
		return nil, false, false, fmt.Errorf("vp8: %w", err)
	}
	// RFC 7741 §4.2: S=1 with partition index 0 starts a frame; §4.3: the
	// inverted P bit of the first payload byte marks a keyframe.
	start := d.p.S == 1 && d.p.PID == 0
	key := start && len(data) > 0 && data[0]&0x01 == 0
	return data, start, key, nil
}

func (*vp8Depacketizer) keyframe(_ []byte, startKey bool) bool { return startKey }

// size reads the keyframe header (RFC 6386 §9.1): a 3-byte frame tag, the
// start code 9d 01 2a, then 14-bit width and height.
func (*vp8Depacketizer) size(frame []byte) (int, int) {
	if len(frame) < 10 || frame[3] != 0x9d || frame[4] != 0x01 || frame[5] != 0x2a {
		return 0, 0
	}
	return int(binary.LittleEndian.Uint16(frame[6:]) & 0x3fff), int(binary.LittleEndian.Uint16(frame[8:]) & 0x3fff)
}

func (*vp8Depacketizer) fixup(frame []byte, _ bool) []byte { return frame }

// vp9Depacketizer implements the VP9 RTP payload format (RFC 9628).
type vp9Depacketizer struct{ p codecs.VP9Packet }

func (*vp9Depacketizer) fourcc() string { return container.FourCCVP9 }
func (*vp9Depacketizer) reset()         {}

func (d *vp9Depacketizer) unpack(payload []byte) ([]byte, bool, bool, error) {
	data, err := d.p.Unmarshal(payload)
	if err != nil {
		return nil, false, false, fmt.Errorf("vp9: %w", err)
	}
	// B marks the first packet of a frame; P=0 means not inter-predicted.
	return data, d.p.B, d.p.B && !d.p.P, nil
}

func (*vp9Depacketizer) keyframe(_ []byte, startKey bool) bool { return startKey }
func (*vp9Depacketizer) size([]byte) (int, int)                { return 0, 0 }
func (*vp9Depacketizer) fixup(frame []byte, _ bool) []byte     { return frame }

// h264Depacketizer implements RFC 6184 (non-interleaved mode) and writes
// access units in Annex-B form.
type h264Depacketizer struct {
	p        codecs.H264Packet
	sps, pps []byte // the latest parameter sets, with start codes
}

func (*h264Depacketizer) fourcc() string { return container.FourCCH264 }

func (d *h264Depacketizer) reset() { d.p = codecs.H264Packet{} }

func (d *h264Depacketizer) unpack(payload []byte) ([]byte, bool, bool, error) {
	data, err := d.p.Unmarshal(payload)
	if err != nil {
		return nil, false, false, fmt.Errorf("h264: %w", err)
	}
	// H.264 has no start-of-frame bit: a new RTP timestamp starts a frame,
	// which the caller detects.
	return data, false, false, nil
}

func (d *h264Depacketizer) keyframe(frame []byte, _ bool) bool {
	key := false
	forEachNAL(frame, func(nal []byte) {
		switch nal[0] & 0x1f {
		case 5: // IDR slice
			key = true
		case 7:
			d.sps = append(append(d.sps[:0], 0, 0, 0, 1), nal...)
		case 8:
			d.pps = append(append(d.pps[:0], 0, 0, 0, 1), nal...)
		}
	})
	return key
}

func (*h264Depacketizer) size([]byte) (int, int) { return 0, 0 }

// fixup puts the last seen SPS and PPS in front of an IDR access unit that
// lacks them (senders that send parameter sets once, e.g. some WHIP
// encoders), so that a decoder can start at any keyframe.
func (d *h264Depacketizer) fixup(frame []byte, key bool) []byte {
	if !key || d.sps == nil || d.pps == nil {
		return frame
	}
	hasSPS := false
	forEachNAL(frame, func(nal []byte) {
		if nal[0]&0x1f == 7 {
			hasSPS = true
		}
	})
	if hasSPS {
		return frame
	}
	out := make([]byte, 0, len(d.sps)+len(d.pps)+len(frame))
	return append(append(append(out, d.sps...), d.pps...), frame...)
}

// forEachNAL calls f with each non-empty NAL unit of an Annex-B buffer.
func forEachNAL(b []byte, f func(nal []byte)) {
	start := -1
	for i := 0; i+2 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && b[end-1] == 0 {
					end--
				}
				if end > start {
					f(b[start:end])
				}
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		f(b[start:])
	}
}
