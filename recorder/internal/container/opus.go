package container

// OpusSilence is a 20 ms Opus packet that decodes to silence: TOC 0xF8
// (CELT-only, fullband, 20 ms, mono, one frame, RFC 6716 §3.1) followed by
// a minimal frame. Writers insert it where RTP timestamps jump (DTX, loss) so
// that the Ogg granule clock keeps pace with the sender's clock.
var OpusSilence = []byte{0xf8, 0xff, 0xfe}

// OpusSilenceSamples is the length of OpusSilence at 48 kHz.
const OpusSilenceSamples = 960

// OpusPacketSamples is the number of 48 kHz samples an Opus packet decodes
// to (RFC 6716 §3.1: the TOC byte's config gives the frame size, its code
// the frame count), or 0 for an empty or malformed packet.
func OpusPacketSamples(pkt []byte) int {
	if len(pkt) == 0 {
		return 0
	}
	toc := pkt[0]
	cfg := toc >> 3
	var per int
	switch {
	case cfg < 12: // SILK-only: 10, 20, 40, 60 ms
		per = [4]int{480, 960, 1920, 2880}[cfg&3]
	case cfg < 16: // hybrid: 10, 20 ms
		per = [2]int{480, 960}[cfg&1]
	default: // CELT-only: 2.5, 5, 10, 20 ms
		per = [4]int{120, 240, 480, 960}[cfg&3]
	}
	frames := 1
	switch toc & 3 {
	case 1, 2:
		frames = 2
	case 3:
		if len(pkt) < 2 {
			return 0
		}
		frames = int(pkt[1] & 0x3f)
	}
	if n := per * frames; n <= 5760 { // at most 120 ms per packet
		return n
	}
	return 0
}
