package relay

import (
	"sync"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Quality is what the link's peer connection reports about the path from
// the origin (WebRTC stats of the receiving side).
type Quality struct {
	// PacketsLost is the cumulative RTP packet loss seen before repair
	// (inbound-rtp packetsLost, summed over tracks).
	PacketsLost int64
	// RTT is the ICE round-trip time in seconds (0 until measured).
	RTT float64
	// Jitter is the largest interarrival jitter over tracks, in seconds.
	Jitter float64
}

// Quality samples the link's WebRTC stats.
func (l *Link) Quality() Quality {
	var q Quality
	for _, s := range l.recv.GetStats() {
		switch st := s.(type) {
		case webrtc.InboundRTPStreamStats:
			q.PacketsLost += int64(st.PacketsLost)
			if st.Jitter > q.Jitter {
				q.Jitter = st.Jitter
			}
		case webrtc.ICECandidatePairStats:
			if st.Nominated && st.CurrentRoundTripTime > 0 {
				q.RTT = st.CurrentRoundTripTime
			}
		}
	}
	return q
}

// linkSet is every open edge-side link in the process, sampled at scrape
// time by qualityCollector.
var linkSet sync.Map // *Link → struct{}

// nodeSet is every open relay Node in the process, sampled at scrape time
// for plenary_sfu_relay_origin_tracks.
var nodeSet sync.Map // *Node → struct{}

// qualityCollector exports Quality per node pair. Several links of one pair
// (one per room) are aggregated: losses summed, RTT and jitter
// maximised, so the label set stays one per pair.
type qualityCollector struct {
	lost, rtt, jitter, out *prometheus.Desc
}

var qualityDescs = &qualityCollector{
	lost:   prometheus.NewDesc("plenary_sfu_relay_packets_lost", "RTP packets lost on relay links before NACK repair (cumulative, open links), by node pair.", []string{"link"}, nil),
	rtt:    prometheus.NewDesc("plenary_sfu_relay_rtt_seconds", "ICE round-trip time of relay links (max over rooms), by node pair.", []string{"link"}, nil),
	jitter: prometheus.NewDesc("plenary_sfu_relay_jitter_seconds", "RTP interarrival jitter on relay links (max over tracks), by node pair.", []string{"link"}, nil),
	out:    prometheus.NewDesc("plenary_sfu_relay_origin_tracks", "Track streams this node sends out over relay links (one per track and link, however many subscribers are behind it), by node pair.", []string{"link"}, nil),
}

func init() { metrics.MustRegister(qualityDescs) }

// Describe implements prometheus.Collector.
func (c *qualityCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lost
	ch <- c.rtt
	ch <- c.jitter
	ch <- c.out
}

// Collect implements prometheus.Collector.
func (c *qualityCollector) Collect(ch chan<- prometheus.Metric) {
	agg := make(map[string]Quality)
	linkSet.Range(func(k, _ any) bool {
		l := k.(*Link)
		q, a := l.Quality(), agg[l.label]
		a.PacketsLost += q.PacketsLost
		a.RTT = max(a.RTT, q.RTT)
		a.Jitter = max(a.Jitter, q.Jitter)
		agg[l.label] = a
		return true
	})
	out := make(map[string]int)
	nodeSet.Range(func(k, _ any) bool {
		n := k.(*Node)
		n.mu.Lock()
		for _, o := range n.origins {
			out[linkLabel(n.id, o.edge)] += len(o.p.Subscriptions())
		}
		n.mu.Unlock()
		return true
	})
	for label, v := range out {
		ch <- prometheus.MustNewConstMetric(c.out, prometheus.GaugeValue, float64(v), label)
	}
	for label, q := range agg {
		ch <- prometheus.MustNewConstMetric(c.lost, prometheus.GaugeValue, float64(q.PacketsLost), label)
		ch <- prometheus.MustNewConstMetric(c.rtt, prometheus.GaugeValue, q.RTT, label)
		ch <- prometheus.MustNewConstMetric(c.jitter, prometheus.GaugeValue, q.Jitter, label)
	}
}
