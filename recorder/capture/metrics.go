package capture

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

var sessionsActive = prometheus.NewGauge(prometheus.GaugeOpts{
	Namespace: metrics.Namespace, Subsystem: "recorder", Name: "sessions_active",
	Help: "Rooms being recorded by this process.",
})

// commandsTotal counts recorder commands by kind (start, stop, unknown) and
// result (started, stopped, duplicate, nothing, invalid, error).
var commandsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: metrics.Namespace, Subsystem: "recorder", Name: "commands_total",
	Help: "Recorder commands handled, by kind and result.",
}, []string{"kind", "result"})

func init() { metrics.MustRegister(sessionsActive, commandsTotal) }
