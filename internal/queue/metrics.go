package queue

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Backend label values.
const (
	backendMemory = "memory"
	backendRabbit = "rabbitmq"
)

// Queue metrics. Labels are the backend and the queue name; queue names are
// constants in code, so the set is bounded. Tenants never appear in labels.
var (
	publishedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace,
		Subsystem: "queue",
		Name:      "published_total",
		Help:      "Jobs published (durably stored or broker-confirmed).",
	}, []string{"backend", "queue"})

	processedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace,
		Subsystem: "queue",
		Name:      "processed_total",
		Help:      "Handler results: ok (acknowledged), retry (scheduled again), dead (dead-lettered).",
	}, []string{"backend", "queue", "result"})

	handlerSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: metrics.Namespace,
		Subsystem: "queue",
		Name:      "handler_seconds",
		Help:      "Time spent in job handlers.",
		Buckets:   prometheus.ExponentialBuckets(0.001, 4, 10), // 1ms … ~4.4min
	}, []string{"backend", "queue"})
)

func init() {
	metrics.MustRegister(publishedTotal, processedTotal, handlerSeconds)
}

// countProcessed records a handler outcome; interruptions are not results.
func countProcessed(backend, queue string, o outcome) {
	switch o {
	case outcomeAck, outcomeRetry, outcomeDead:
		processedTotal.WithLabelValues(backend, queue, o.String()).Inc()
	}
}
