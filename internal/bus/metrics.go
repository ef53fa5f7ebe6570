package bus

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Backend label values. Labels never carry channel names or tenant IDs.
const (
	backendMemory = "memory"
	backendRedis  = "redis"
)

var (
	publishedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "bus", Name: "published_total",
		Help: "Messages published successfully.",
	}, []string{"backend"})
	deliveredTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "bus", Name: "delivered_total",
		Help: "Messages placed in a subscription buffer (one per subscriber).",
	}, []string{"backend"})
	droppedTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "bus", Name: "dropped_total",
		Help: "Oldest buffered messages dropped because a subscriber was too slow.",
	}, []string{"backend"})
	publishErrorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "bus", Name: "publish_errors_total",
		Help: "Publish calls that returned an error.",
	}, []string{"backend"})
	subscriptionsGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "bus", Name: "subscriptions",
		Help: "Open subscriptions in this process.",
	}, []string{"backend"})
)

func init() {
	metrics.MustRegister(publishedTotal, deliveredTotal, droppedTotal, publishErrorsTotal, subscriptionsGauge)
}

// backendMetrics holds the collectors of one backend label, resolved once so
// the hot path does no label lookup.
type backendMetrics struct {
	published     prometheus.Counter
	delivered     prometheus.Counter
	dropped       prometheus.Counter
	publishErrors prometheus.Counter
	subscriptions prometheus.Gauge
}

// newBackendMetrics resolves the collectors for backend.
func newBackendMetrics(backend string) *backendMetrics {
	return &backendMetrics{
		published:     publishedTotal.WithLabelValues(backend),
		delivered:     deliveredTotal.WithLabelValues(backend),
		dropped:       droppedTotal.WithLabelValues(backend),
		publishErrors: publishErrorsTotal.WithLabelValues(backend),
		subscriptions: subscriptionsGauge.WithLabelValues(backend),
	}
}
