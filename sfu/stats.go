package sfu

import (
	"sync/atomic"
	"time"
)

// nodeStats are the SFU's own forwarding counters, added to once per
// received packet (not per subscriber write).
type nodeStats struct {
	packets atomic.Uint64
	bytes   atomic.Uint64
}

// Stats is a snapshot of a node's forwarding counters, e.g. for the load
// figure a node reports when it registers, or for benchmarks.
type Stats struct {
	// ForwardedPackets counts RTP packets written to subscribers since New.
	ForwardedPackets uint64
	// ForwardedBytes counts the RTP payload bytes of those packets.
	ForwardedBytes uint64
}

// Stats returns the node's forwarding counters.
func (s *SFU) Stats() Stats {
	return Stats{ForwardedPackets: s.stats.packets.Load(), ForwardedBytes: s.stats.bytes.Load()}
}

// LatencyStats summarises the forwarding latency recorded when
// Config.MeasureLatency is set: the time from a packet's read at the
// publisher's track (after Pion's SRTP decryption) until its write to a
// subscriber's connection returned (after SRTP encryption and the UDP send),
// one sample per subscriber write. Quantiles are within about 3%.
type LatencyStats struct {
	// Count is the number of samples.
	Count uint64
	// P50, P90, P99 and P999 are quantiles; Max is the largest sample.
	P50, P90, P99, P999, Max time.Duration
}

// ForwardLatency returns the latency recorded since New or the last
// ResetForwardLatency; all zero unless Config.MeasureLatency is set.
func (s *SFU) ForwardLatency() LatencyStats {
	h := s.latency
	if h == nil {
		return LatencyStats{}
	}
	return LatencyStats{
		Count: h.Count(),
		P50:   h.Quantile(0.50),
		P90:   h.Quantile(0.90),
		P99:   h.Quantile(0.99),
		P999:  h.Quantile(0.999),
		Max:   h.Max(),
	}
}

// ResetForwardLatency forgets the recorded latency samples, e.g. after a
// benchmark's warm-up.
func (s *SFU) ResetForwardLatency() {
	if s.latency != nil {
		s.latency.Reset()
	}
}
