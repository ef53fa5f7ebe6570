package recorder

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Recorder metrics. The only label is the track kind (audio, video).
var (
	recordingsActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "recordings_active",
		Help: "Recordings open in this process.",
	})
	tracksActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "tracks_active",
		Help: "Tracks being written in this process.",
	}, []string{"kind"})
	packetsReceived = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "rtp_packets_total",
		Help: "RTP packets handed to track writers.",
	}, []string{"kind"})
	packetsLost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "rtp_packets_lost_total",
		Help: "RTP packets declared lost by the reorder buffer.",
	}, []string{"kind"})
	framesWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "frames_written_total",
		Help: "Video frames and Opus packets (including inserted silence) written to disk.",
	}, []string{"kind"})
	bytesWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "bytes_written_total",
		Help: "Media payload bytes written to disk.",
	}, []string{"kind"})
	writeErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "write_errors_total",
		Help: "Track writes that failed (disk full, I/O error); the track stops recording.",
	}, []string{"kind"})
	keyframeRequests = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "keyframe_requests_total",
		Help: "Keyframe requests sent after video loss.",
	})
)

func init() {
	metrics.MustRegister(recordingsActive, tracksActive, packetsReceived, packetsLost,
		framesWritten, bytesWritten, writeErrors, keyframeRequests)
}
