package sfu

import (
	"sync/atomic"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// audioLevelID returns the negotiated ID of the RFC 6464 audio level
// extension among exts, or 0 when it was not negotiated.
func audioLevelID(exts []webrtc.RTPHeaderExtensionParameter) uint8 {
	for _, e := range exts {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// audioLevelMeter accumulates RFC 6464 audio levels of one audio track
// between two active-speaker evaluations. It is written by the track's read
// goroutine and drained by the room's speaker loop, lock-free.
type audioLevelMeter struct {
	extID uint8 // negotiated header extension ID, 0 = not negotiated
	sum   atomic.Uint64
	count atomic.Uint64
	// smoothed is the exponentially smoothed loudness (127 - level), owned by
	// the speaker loop.
	smoothed float64
}

// observe records the level of one packet. RFC 6464 §3: the extension's low
// 7 bits are the level in -dBov (0 loudest, 127 silence); packets without
// the extension count as silence.
func (m *audioLevelMeter) observe(h *rtp.Header) {
	if m.extID == 0 {
		return
	}
	level := uint64(127)
	if ext := h.GetExtension(m.extID); len(ext) > 0 {
		level = uint64(ext[0] & 0x7F)
	}
	m.sum.Add(level)
	m.count.Add(1)
}

// drain returns the mean level since the last drain and updates the smoothed
// loudness; ok is false when no packet arrived (muted or gone).
func (m *audioLevelMeter) drain() (loudness float64) {
	n := m.count.Swap(0)
	s := m.sum.Swap(0)
	cur := 0.0
	if n > 0 {
		cur = 127 - float64(s)/float64(n)
	}
	// Half-life of one interval: quick to react, but one loud packet burst
	// does not steal the floor.
	m.smoothed = 0.5*m.smoothed + 0.5*cur
	return m.smoothed
}
