package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/interceptor/pkg/cc"
)

// Bandwidth probing. The send-side estimate (GCC) only grows by about 8%
// per second, and not at all beyond 1.5× what the subscriber actually
// receives right after a congestion event, so a viewer held on a low layer
// would take tens of seconds to earn the next one. When a subscriber wants a
// higher layer than its estimate allows, the allocator sends a bounded burst
// of padding-only RTP packets (RFC 3550 §5.1) on one of its video
// down-tracks, so that its total send rate reaches the goal the upgrade
// needs. If the estimator sees no congestion while the burst is in flight
// and shortly after (its estimate does not drop: no delay growth, no loss),
// the goal is proven and becomes a floor under the estimate, and the
// upgrade happens at once. A failed probe backs off exponentially. The floor
// is forgotten at the first drop of the estimate, so real congestion still
// downgrades at once. (LiveKit's prober is the reference idea: clusters of
// padding at a goal rate, judged by the estimator's reaction.)

const (
	// probeSettle is how long after a burst its feedback may still show
	// congestion (TWCC feedback interval plus RTT).
	probeSettle = 300 * time.Millisecond
	// probeTick paces the padding.
	probeTick = 5 * time.Millisecond
	// probeMinBackoff and probeMaxBackoff bound the wait after a failure.
	probeMinBackoff = 2 * time.Second
	probeMaxBackoff = 30 * time.Second
	// probeMaxFactor bounds the goal to this multiple of the estimate: one
	// simulcast step (about ×3) per probe, never a jump to any bitrate.
	probeMaxFactor = 4
	// probeMinPadding is the smallest padding rate worth a probe, bit/s.
	probeMinPadding = 32_000
	// sendRateWindow is the shortest window the send rate is measured over.
	sendRateWindow = 500 * time.Millisecond
	// paddingSize is the padding per packet, the RTP maximum (the last
	// padding octet holds the count).
	paddingSize = 255
)

// probe results handed from the probe goroutine to the allocator.
const (
	probeNone int32 = iota
	probeSucceeded
	probeFailed
)

// prober is a participant's probing state. floor, running and result are
// shared with the probe goroutine and Bandwidth; the rest belongs to the
// allocator goroutine.
type prober struct {
	floor   atomic.Int64 // bandwidth proven by the last successful probe, bit/s
	running atomic.Bool
	result  atomic.Int32
	rate    atomic.Int64 // sendRate, for the NACK responder's budget

	nextAt    time.Time
	backoff   time.Duration
	lastEst   int
	lastBytes uint64
	lastAt    time.Time
	sendRate  int // measured send rate towards the participant, bit/s
}

// congested reports whether the estimator's last verdict is congestion: the
// delay-based controller is decreasing (queues grow) or loss is above 10%
// (the loss-based controller's decrease threshold).
func (p *Participant) congested() bool {
	e, ok := p.estimator.Load().(cc.BandwidthEstimator)
	if !ok || e == nil {
		return false
	}
	st := e.GetStats()
	if state, _ := st["state"].(string); state == "decrease" {
		return true
	}
	loss, _ := st["averageLoss"].(float64)
	return loss > 0.1
}

// probeNeed is an upgrade the estimate does not allow: the bandwidth the
// participant's subscriptions would need in total, and a down-track to pad.
type probeNeed struct {
	goal int
	dt   *DownTrack
}

// probeBeforeAllocation updates the probing state at the start of an
// allocation: it measures the send rate, forgets the floor on congestion and
// takes the result of a finished probe. It reports whether a probe just
// succeeded, in which case upgrades skip their hold time.
func (p *Participant) probeBeforeAllocation(now time.Time, all []*DownTrack) (proven bool) {
	pr := &p.probe
	var total uint64
	for _, dt := range all {
		total += dt.bytes.Load()
	}
	// Measured over at least half a second: allocations also run on
	// every preference change, and a few frames say little about a rate.
	if win := now.Sub(pr.lastAt); pr.lastAt.IsZero() || win >= sendRateWindow {
		if !pr.lastAt.IsZero() {
			pr.sendRate = int(float64(total-pr.lastBytes) * 8 / win.Seconds())
			pr.rate.Store(int64(pr.sendRate))
		}
		pr.lastBytes, pr.lastAt = total, now
	}
	est := p.estimate()
	if (pr.lastEst > 0 && est < pr.lastEst*97/100) || p.congested() {
		// The estimator backed off or sees congestion. What a probe proved
		// no longer holds.
		pr.floor.Store(0)
	}
	pr.lastEst = est
	switch pr.result.Swap(probeNone) {
	case probeSucceeded:
		pr.backoff = 0
		pr.nextAt = now.Add(p.room.sfu.cfg.ProbeDuration)
		return true
	case probeFailed:
		pr.backoff = min(max(2*pr.backoff, probeMinBackoff), probeMaxBackoff)
		pr.nextAt = now.Add(pr.backoff)
	}
	return false
}

// maybeProbe starts a probe for need if probing is on, none is running, the
// backoff has passed and the estimate (not the participant's cap) is what
// stands in the way.
func (p *Participant) maybeProbe(now time.Time, budget int, need *probeNeed) {
	cfg := &p.room.sfu.cfg
	pr := &p.probe
	if cfg.DisableProbing || need == nil || pr.running.Load() || now.Before(pr.nextAt) {
		return
	}
	limit := cfg.MaxBitrate
	if c := int(p.cap.Load()); c > 0 {
		limit = min(limit, c)
	}
	goal := min(need.goal, probeMaxFactor*max(budget, 1))
	if goal <= budget || need.goal > limit {
		return // nothing to prove, or the cap (not the estimate) limits
	}
	padRate := max(goal-pr.sendRate, probeMinPadding)
	est := p.estimate()
	pr.running.Store(true)
	if !p.goSafe(func() { p.runProbe(need.dt, padRate, goal, est) }) {
		pr.running.Store(false)
		return
	}
	p.log.Debug("probing", "goal", goal, "padding", padRate, "estimate", est, "sending", pr.sendRate)
}

// runProbe sends padding at padRate bit/s for ProbeDuration and judges the
// estimator's reaction until probeSettle after it.
func (p *Participant) runProbe(dt *DownTrack, padRate, goal, startEst int) {
	pr := &p.probe
	result := probeFailed
	defer func() {
		if result == probeSucceeded {
			pr.floor.Store(int64(goal))
			probesOK.Inc()
		} else {
			probesFailed.Inc()
		}
		pr.result.Store(result)
		pr.running.Store(false)
		p.kickAllocator()
	}()
	dur := p.room.sfu.cfg.ProbeDuration
	tick := time.NewTicker(probeTick)
	defer tick.Stop()
	start := time.Now()
	sent := 0
	for i := 0; ; i++ {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		if est := p.estimate(); est < startEst*95/100 || (i%10 == 0 && p.congested()) {
			p.log.Debug("probe failed", "goal", goal, "estimate", est, "start", startEst, "sent", sent)
			return // congestion: the goal is not available
		}
		elapsed := time.Since(start)
		if elapsed >= dur+probeSettle {
			// Proven only if the padding really went out (it waits for
			// frame boundaries, and the down-track may have stopped).
			if want := float64(padRate) / 8 * dur.Seconds(); float64(sent) >= want/2 {
				result = probeSucceeded
			} else {
				p.log.Debug("probe sent too little padding", "goal", goal, "sent", sent, "want", int(want))
			}
			return
		}
		if elapsed >= dur {
			continue // settling: watch only
		}
		due := int(float64(padRate) / 8 * elapsed.Seconds())
		for sent < due {
			n := dt.writePadding()
			if n == 0 {
				break // mid-frame or not forwarding: try next tick
			}
			sent += n
			probeBytes.Add(float64(n))
		}
	}
}
