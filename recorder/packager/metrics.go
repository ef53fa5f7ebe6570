package packager

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Packaging metrics; no labels beyond the result.
var (
	packagingActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "packaging_active",
		Help: "Packaging runs in progress in this process.",
	})
	packagingTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "packaging_total",
		Help: "Finished packaging runs by result (ok, error, canceled).",
	}, []string{"result"})
	packagingSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "packaging_seconds",
		Help:    "Wall time of successful packaging runs.",
		Buckets: prometheus.ExponentialBuckets(5, 2, 12), // 5 s .. ~3 h
	})
	packagedMediaSeconds = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "packaged_media_seconds_total",
		Help: "Seconds of VOD produced.",
	})
	packagingSpeed = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "packaging_speed_ratio",
		Help:    "Media seconds packaged per wall-clock second (× real time).",
		Buckets: []float64{0.125, 0.25, 0.5, 1, 2, 4, 8, 16},
	})
	packagingProgress = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "recorder", Name: "packaging_progress_ratio",
		Help: "Fraction done of the most recently reported packaging run.",
	})
)

func init() {
	metrics.MustRegister(packagingActive, packagingTotal, packagingSeconds, packagedMediaSeconds, packagingSpeed, packagingProgress)
}
