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
		Help: "Visible participants currently joined on this node (hidden ones, recorders and relay links, are not counted).",
	})
	metricHiddenParticipants = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "hidden_participants",
		Help: "Hidden participants (recorders, relay links) currently joined on this node.",
	})
	metricICERestarts = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "ice_restarts_total",
		Help: "Server-initiated ICE restarts of subscriber connections (RFC 8445 §9).",
	})
	metricDraining = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "draining",
		Help: "1 while the node drains (refuses joins, waits for participants to move), else 0.",
	})
	// metricLoss is fed by the subscribers' RTCP receiver reports (RFC 3550
	// §6.4.1 "fraction lost"): one observation per report block, i.e. per
	// forwarded stream about once a second. Its mean is the loss
	// subscribers see, whatever its cause (the node's network, theirs).
	metricLoss = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "subscriber_loss_ratio",
		Help:    "Fraction of packets lost towards subscribers, per RTCP receiver report block (RFC 3550 §6.4.1).",
		Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1},
	}, []string{"kind"})
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
	// The node's UDP send queue (batch_conn.go).
	metricUDPSendErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "udp_send_errors_total",
		Help: "Datagrams the node's UDP socket failed to send (the others of their batch were still sent).",
	})
	metricUDPSendQueueFull = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "sfu", Name: "udp_send_queue_full_total",
		Help: "Writes that waited because the UDP send queue was full (the flusher could not keep up).",
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
	lossAudio    = metricLoss.WithLabelValues("audio")
	lossVideo    = metricLoss.WithLabelValues("video")
)

func init() {
	metrics.MustRegister(metricTracks, metricSubscriptions, metricParticipants, metricRooms,
		metricPackets, metricBytes, metricNACKs, metricPLIs, metricLayerSwitches, metricBandwidth, metricProbes, metricProbeBytes,
		metricHiddenParticipants, metricICERestarts, metricDraining, metricLoss,
		metricUDPSendErrors, metricUDPSendQueueFull)
}

// participantGauge is the gauge that counts a participant: hidden ones
// (recorders, relay links) apart from the visible ones.
func participantGauge(hidden bool) prometheus.Gauge {
	if hidden {
		return metricHiddenParticipants
	}
	return metricParticipants
}
