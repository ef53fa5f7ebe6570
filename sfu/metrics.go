package sfu

import (
	"github.com/plenaryhq/plenary/internal/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Prometheus collectors of the media plane. Labels are bounded (media kind,
// direction, layer); never tenant or room IDs.
var (
	metricTracks = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "tracks",
		Help: "Published tracks currently on this node.",
	}, []string{"kind"})
	metricSubscriptions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "subscriptions",
		Help: "Subscriber down-tracks currently on this node.",
	}, []string{"kind"})
	metricParticipants = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "participants",
		Help: "Participants currently joined on this node.",
	})
	metricRooms = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "rooms",
		Help: "Rooms currently open on this node.",
	})
	metricPackets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "forwarded_packets_total",
		Help: "RTP packets forwarded to subscribers.",
	}, []string{"kind"})
	metricBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "forwarded_bytes_total",
		Help: "RTP payload bytes forwarded to subscribers.",
	}, []string{"kind"})
	metricNACKs = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "nacks_received_total",
		Help: "Generic NACK feedback packets received from subscribers (RFC 4585 §6.2.1).",
	})
	metricPLIs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "keyframe_requests_total",
		Help: "Keyframe requests: received from subscribers, or sent to publishers after merging.",
	}, []string{"direction"})
	metricLayerSwitches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "layer_switches_total",
		Help: "Simulcast layer switches performed by down-tracks, by direction.",
	}, []string{"direction"})
	metricProbes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "probes_total",
		Help: "Bandwidth probes (bursts of RTP padding) by result.",
	}, []string{"result"})
	metricProbeBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "probe_padding_bytes_total",
		Help: "RTP padding bytes sent by bandwidth probes.",
	})
	metricBandwidth = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "estimated_bandwidth_bps",
		Help:    "Send-side bandwidth estimates of subscriber connections, sampled each allocation.",
		Buckets: prometheus.ExponentialBuckets(64_000, 2, 10),
	})
)

// Pre-resolved children, so the forwarding path never looks labels up.
var (
	packetsAudio = metricPackets.WithLabelValues("audio")
	packetsVideo = metricPackets.WithLabelValues("video")
	bytesAudio   = metricBytes.WithLabelValues("audio")
	bytesVideo   = metricBytes.WithLabelValues("video")
	pliIn        = metricPLIs.WithLabelValues("in")
	pliOut       = metricPLIs.WithLabelValues("out")
	switchUp     = metricLayerSwitches.WithLabelValues("up")
	switchDown   = metricLayerSwitches.WithLabelValues("down")
	probesOK     = metricProbes.WithLabelValues("success")
	probesFailed = metricProbes.WithLabelValues("failure")
	probeBytes   = metricProbeBytes
)

func init() {
	metrics.MustRegister(metricTracks, metricSubscriptions, metricParticipants, metricRooms,
		metricPackets, metricBytes, metricNACKs, metricPLIs, metricLayerSwitches, metricBandwidth, metricProbes, metricProbeBytes)
}
