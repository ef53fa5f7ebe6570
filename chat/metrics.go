package chat

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Collectors of the chat service. Labels carry message types and error
// codes only, never tenants or rooms.
var (
	eventsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "events_total",
		Help: "Room events appended to history, by type.",
	}, []string{"type"})
	requestErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "request_errors_total",
		Help: "Client requests answered with an error, by protocol code.",
	}, []string{"code"})
	replayedEvents = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "replayed_events",
		Help:    "Events replayed to one joining client.",
		Buckets: []float64{0, 1, 10, 50, 100, 500, 1000, 5000},
	})
	archiveFills = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "archive_fills_total",
		Help: "Replays that needed events older than recent history from the archive.",
	})
	archiveBatchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "archive_batch_size",
		Help:    "Events per group-commit write to the archive.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
	archiveBacklog = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "archive_backlog",
		Help: "Events waiting to be re-archived after a store failure.",
	})
	archiveLost = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "archive_lost_total",
		Help: "Events that could not be archived nor kept for retry (they stay in recent history only).",
	})
	publishErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "publish_errors_total",
		Help: "Room events stored but not fanned out live (clients recover them on resume).",
	})
	scheduleEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "chat", Name: "schedule_events_total",
		Help: "Scheduler events (stage_open, qa_close) handled, by type and result (applied, unchanged, superseded, duplicate, error).",
	}, []string{"type", "result"})
)

func init() {
	metrics.MustRegister(eventsTotal, requestErrors, replayedEvents, archiveFills,
		archiveBatchSize, archiveBacklog, archiveLost, publishErrors, scheduleEvents)
}
