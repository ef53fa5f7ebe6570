package actions

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Action metrics. Labels are action kinds and fixed results: bounded, no
// tenant.
var (
	leaderGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace,
		Subsystem: "scheduler",
		Name:      "leader",
		Help:      "1 while this process is the scheduler's action planner.",
	})
	plannedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace,
		Subsystem: "scheduler",
		Name:      "actions_planned_total",
		Help:      "Action jobs published by the planner (repeats across leaders included).",
	}, []string{"action"})
	handledTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace,
		Subsystem: "scheduler",
		Name:      "actions_total",
		Help:      "Action jobs handled: fired, stale (session moved or gone), duplicate (already fired), error.",
	}, []string{"action", "result"})
	lagSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace,
		Subsystem: "scheduler",
		Name:      "action_lag_seconds",
		Help:      "Delay between an action's planned instant and its firing, in schedule-clock seconds.",
		Buckets:   prometheus.ExponentialBuckets(0.01, 4, 10),
	}, []string{"action"})
)

func init() {
	metrics.MustRegister(leaderGauge, plannedTotal, handledTotal, lagSeconds)
}
