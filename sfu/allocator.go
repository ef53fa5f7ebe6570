package sfu

import (
	"fmt"
	"time"

	"github.com/pion/interceptor/pkg/cc"
)

// audioReserve is the bandwidth kept for each audio subscription (Opus
// speech at up to 40 kbit/s plus RTP overhead) before video is allocated.
const audioReserve = 48_000

// TrackPreference is what a subscriber wants of one video track.
type TrackPreference struct {
	// MaxLayer caps the layer. Zero (LayerNone) means no cap, unless Paused.
	MaxLayer Layer
	// Width and Height are the rendered size in CSS pixels; when set they
	// cap the layer to the smallest that covers them (180p low, 360p medium,
	// above that high, for the usual 720p simulcast ladder).
	Width, Height int
	// Paused stops the track entirely (a hidden tile).
	Paused bool
	// Pin forwards this layer whatever the bandwidth estimate (see pin.go),
	// overriding MaxLayer, Width and Height; a recorder pins LayerHigh to
	// always get the top layer. If the track lacks the layer, the nearest
	// one below it is used. Zero (LayerNone): no pin, the allocator decides.
	Pin Layer
}

// layer folds a preference into a single max layer.
func (pref TrackPreference) layer() Layer {
	if pref.Paused {
		return LayerNone
	}
	max := pref.MaxLayer
	if max == LayerNone {
		max = LayerHigh
	}
	if size := sizeLayer(pref.Width, pref.Height); size != LayerNone && size < max {
		max = size
	}
	return max
}

func sizeLayer(w, h int) Layer {
	switch {
	case h > 0 && h <= 180, h == 0 && w > 0 && w <= 320:
		return LayerLow
	case h > 0 && h <= 360, h == 0 && w > 0 && w <= 640:
		return LayerMedium
	case h > 0 || w > 0:
		return LayerHigh
	default:
		return LayerNone
	}
}

// SetTrackPreference sets the participant's preference for a subscribed
// track; the allocator applies it at once.
func (p *Participant) SetTrackPreference(id TrackID, pref TrackPreference) error {
	p.mu.Lock()
	dt, ok := p.subs[id]
	p.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotSubscribed, id)
	}
	if err := p.setPin(id, pref); err != nil {
		return err
	}
	dt.maxLayer.Store(uint32(pref.layer()))
	p.kickAllocator()
	return nil
}

// SetMaxBitrate changes the participant's bandwidth cap (JoinOptions
// MaxBitrate); 0 removes it.
func (p *Participant) SetMaxBitrate(bps int) {
	p.cap.Store(int64(max(bps, 0)))
	p.kickAllocator()
}

// Bandwidth returns the bandwidth the SFU currently allows itself towards
// the participant, in bit/s: the congestion-control estimate, raised to what
// the last successful bandwidth probe proved (until congestion is seen), and
// capped by the participant's MaxBitrate.
func (p *Participant) Bandwidth() int {
	est := max(p.estimate(), int(p.probe.floor.Load()))
	if c := int(p.cap.Load()); c > 0 && c < est {
		est = c
	}
	return est
}

// estimate is the congestion controller's target bitrate towards the
// participant (InitialBitrate until the subscriber connection exists).
func (p *Participant) estimate() int {
	if e, ok := p.estimator.Load().(cc.BandwidthEstimator); ok && e != nil {
		if b := e.GetTargetBitrate(); b > 0 {
			return b
		}
	}
	return p.room.sfu.cfg.InitialBitrate
}

func (p *Participant) kickAllocator() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// allocLoop re-runs allocation periodically and whenever a subscription or
// preference changes.
func (p *Participant) allocLoop() {
	tick := time.NewTicker(p.room.sfu.cfg.AllocationInterval)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		case <-p.kick:
		}
		p.allocate(time.Now())
	}
}

// allocate divides the bandwidth among the participant's video
// subscriptions (equal shares after audio), picks each one's layer and, when
// the estimate keeps a wanted layer out of reach, starts a bandwidth probe.
func (p *Participant) allocate(now time.Time) {
	p.mu.Lock()
	all := make([]*DownTrack, 0, len(p.subs))
	video := make([]*DownTrack, 0, len(p.subs))
	audio := 0
	for _, dt := range p.subs {
		all = append(all, dt)
		if dt.track.video {
			video = append(video, dt)
		} else {
			audio++
		}
	}
	p.mu.Unlock()
	proven := p.probeBeforeAllocation(now, all)
	budget := p.Bandwidth()
	metricBandwidth.Observe(float64(budget))
	if len(video) == 0 {
		return
	}
	reserve := audio * audioReserve
	share := max(budget-reserve, 0) / len(video)
	var need *probeNeed
	settled := true
	for _, dt := range video {
		present, rates := dt.track.layerState(now)
		maxLayer := Layer(dt.maxLayer.Load())
		if !dt.track.info.Simulcast && maxLayer != LayerNone {
			maxLayer = LayerHigh // a single-layer track is either on or off
		}
		if proven {
			dt.selector.skipHold()
		}
		l := dt.selector.choose(now, share, rates, present, maxLayer)
		if pin := p.pinnedLayer(dt.track.info.ID, present); pin != LayerNone {
			l, maxLayer = pin, pin // TrackPreference.Pin, whatever the budget
		}
		if dt.setTarget(l) {
			p.log.Debug("layer target", "track", dt.track.info.ID, "layer", l, "share", share,
				"present", present, "rates", rates, "max", maxLayer)
			dt.track.updateDynacast()
		}
		if dt.Target() != dt.CurrentLayer() {
			settled = false // a switch is in flight: rates are about to change
		}
		if next := nextLayer(l, present, maxLayer); next != LayerNone && need == nil {
			// The share every video track would need for this one to step up.
			want := layerRate(next, rates) * upgradeMarginNum / upgradeMarginDen
			need = &probeNeed{goal: reserve + want*len(video), dt: dt}
		}
	}
	if settled {
		p.maybeProbe(now, budget, need)
	}
}

// nextLayer returns the lowest present layer above l that maxLayer allows,
// or LayerNone.
func nextLayer(l Layer, present [numLayers]bool, maxLayer Layer) Layer {
	for n := l + 1; n <= maxLayer && n <= LayerHigh; n++ {
		if n.valid() && present[n.idx()] {
			return n
		}
	}
	return LayerNone
}
