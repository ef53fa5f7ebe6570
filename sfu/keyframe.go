package sfu

import "strings"

// codecKind selects the keyframe detector for a track.
type codecKind uint8

const (
	codecUnknown codecKind = iota
	codecOpus
	codecVP8
	codecVP9
	codecH264
	codecAV1
)

func codecKindOf(mime string) codecKind {
	switch strings.ToLower(mime) {
	case "audio/opus":
		return codecOpus
	case "video/vp8":
		return codecVP8
	case "video/vp9":
		return codecVP9
	case "video/h264":
		return codecH264
	case "video/av1":
		return codecAV1
	default:
		return codecUnknown
	}
}

// isKeyframe reports whether an RTP payload of the given codec starts a
// keyframe, i.e. is a point where a decoder (and a layer switch) can start.
// Codecs without a detector report every packet as a switch point, so media
// still flows; switches on them may glitch until the next keyframe.
func isKeyframe(kind codecKind, payload []byte) bool {
	switch kind {
	case codecVP8:
		return vp8Keyframe(payload)
	case codecVP9:
		return vp9Keyframe(payload)
	case codecH264:
		return h264Keyframe(payload)
	case codecAV1:
		return av1Keyframe(payload)
	default:
		return true
	}
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741 §4.2) and checks
// the inverse key-frame flag (P bit) of the VP8 frame header (RFC 6386 §9.1)
// on the first packet of partition 0.
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	b0 := p[0]
	start := b0&0x10 != 0 // S bit
	pid := b0 & 0x07
	if !start || pid != 0 {
		return false
	}
	i := 1
	if b0&0x80 != 0 { // X: extension byte follows
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture ID
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 { // M: 15-bit picture ID
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	if len(p) <= i {
		return false
	}
	return p[i]&0x01 == 0
}

// vp9Keyframe checks the VP9 payload descriptor (RFC 9628 §4.2): the first
// packet of a frame (B) that is not inter-picture predicted (P=0).
func vp9Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	return p[0]&0x40 == 0 && p[0]&0x08 != 0
}

// h264Keyframe looks for an SPS (7) or the start of an IDR slice (5) in a
// single NAL unit, STAP-A (24) or FU-A (28) packet (RFC 6184 §5). Browsers
// send SPS/PPS right before every IDR, so switching on the SPS packet gives
// the decoder its parameter sets.
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1F; nal {
	case 5, 7:
		return true
	case 24: // STAP-A: 16-bit size, NAL unit, repeated
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if t := p[i] & 0x1F; t == 5 || t == 7 {
				return true
			}
			i += size
		}
		return false
	case 28: // FU-A: start bit and original NAL type in the FU header
		if len(p) < 2 {
			return false
		}
		return p[1]&0x80 != 0 && p[1]&0x1F == 5
	default:
		return false
	}
}

// av1Keyframe checks the N bit of the AV1 aggregation header (first packet of
// a coded video sequence, i.e. a keyframe; AV1 RTP spec §4.4).
func av1Keyframe(p []byte) bool {
	return len(p) > 0 && p[0]&0x08 != 0
}
