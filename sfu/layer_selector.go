package sfu

import "time"

// nominalBitrate is assumed for a layer whose bitrate has not been measured
// yet (or which is paused at the publisher by dynacast), in bit/s. The values
// are the usual browser simulcast ladder for 720p.
var nominalBitrate = [numLayers]int{150_000, 500_000, 1_500_000}

// upgradeMargin is the headroom a higher layer needs before an upgrade is
// considered: its bitrate times 1.1 must fit the budget. Together with the
// hold time it keeps a subscriber near a layer boundary from flapping.
const (
	upgradeMarginNum = 11
	upgradeMarginDen = 10
)

// layerSelector picks the simulcast layer for one subscription from the
// bandwidth budget, the measured layer bitrates and the subscriber's
// preference. Downgrades are immediate (congestion must be relieved now);
// upgrades need headroom sustained for the hold time.
type layerSelector struct {
	hold      time.Duration
	current   Layer
	upSince   time.Time
	upTowards Layer
	noHold    bool // set by skipHold for one choose
}

// choose returns the layer to forward. present says which layers the track
// has (including paused ones); bitrates are bit/s (0 = unknown, nominal used).
func (s *layerSelector) choose(now time.Time, budget int, bitrates [numLayers]int, present [numLayers]bool, maxLayer Layer) Layer {
	defer func() { s.noHold = false }()
	rate := func(l Layer) int { return layerRate(l, bitrates) }
	lowest := LayerNone
	for l := LayerLow; l <= maxLayer && l <= LayerHigh; l++ {
		if present[l.idx()] {
			lowest = l
			break
		}
	}
	if lowest == LayerNone {
		s.current, s.upSince = LayerNone, time.Time{}
		return LayerNone
	}
	fits, fitsUp := lowest, LayerNone
	for l := lowest; l <= maxLayer && l <= LayerHigh; l++ {
		if !present[l.idx()] {
			continue
		}
		if rate(l) <= budget {
			fits = l
		}
		if rate(l)*upgradeMarginNum <= budget*upgradeMarginDen {
			fitsUp = l
		}
	}
	keep := s.current.valid() && s.current <= maxLayer && present[s.current.idx()] &&
		(s.current == lowest || rate(s.current) <= budget)
	if !keep {
		s.current, s.upSince = fits, time.Time{}
		return s.current
	}
	if fitsUp > s.current {
		if s.upSince.IsZero() || s.upTowards != fitsUp {
			s.upSince, s.upTowards = now, fitsUp
		}
		if now.Sub(s.upSince) >= s.hold || s.noHold {
			s.current, s.upSince = fitsUp, time.Time{}
		}
		return s.current
	}
	s.upSince = time.Time{}
	return s.current
}

// skipHold lets the next choose upgrade without waiting for the hold time:
// a successful bandwidth probe has already shown the headroom is real.
func (s *layerSelector) skipHold() { s.noHold = true }

// layerRate is the bitrate of layer l: measured, or nominal when unknown.
func layerRate(l Layer, bitrates [numLayers]int) int {
	if b := bitrates[l.idx()]; b > 0 {
		return b
	}
	return nominalBitrate[l.idx()]
}
