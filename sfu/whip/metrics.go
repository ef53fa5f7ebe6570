package whip

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// metricSessions counts live sessions by protocol ("whip", "whep").
var metricSessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Namespace: metrics.Namespace, Subsystem: "sfu", Name: "http_media_sessions",
	Help: "Live WHIP ingest and WHEP playback sessions on this node.",
}, []string{"protocol"})

func init() {
	metrics.MustRegister(metricSessions)
}
