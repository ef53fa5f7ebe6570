package sfu

import (
	"github.com/pion/rtcp"
)

// observeLoss feeds plenary_sfu_subscriber_loss_ratio from a receiver report
// the subscriber sent about dt's stream: the "fraction lost" of each report
// block whose SSRC is dt's (RFC 3550 §6.4.1: packets lost since the previous
// report divided by packets expected, as a fixed-point number with the
// binary point at the left edge, i.e. n/256). The SRTCP layer hands a
// compound packet to every sender it names, so blocks about the
// participant's other down-tracks are skipped here and counted by theirs.
func (dt *DownTrack) observeLoss(rr *rtcp.ReceiverReport) {
	dt.mu.Lock()
	ssrc := dt.ssrc
	dt.mu.Unlock()
	for i := range rr.Reports {
		b := &rr.Reports[i]
		if b.SSRC != ssrc {
			continue
		}
		ratio := float64(b.FractionLost) / 256
		if dt.track.video {
			lossVideo.Observe(ratio)
		} else {
			lossAudio.Observe(ratio)
		}
	}
}
