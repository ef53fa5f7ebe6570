package playback

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

var requests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: metrics.Namespace, Subsystem: "recorder", Name: "playback_requests_total",
	Help: "Media requests by result (ok, forbidden, not_found, method, error).",
}, []string{"result"})

func init() { metrics.MustRegister(requests) }
