package capture

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

var sessionsActive = prometheus.NewGauge(prometheus.GaugeOpts{
	Namespace: metrics.Namespace, Subsystem: "recorder", Name: "sessions_active",
	Help: "Rooms being recorded by this process.",
})

func init() { metrics.MustRegister(sessionsActive) }
