package library

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

var (
	statementsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "library", Name: "xapi_statements_total",
		Help: "xAPI statements received, by verb (or invalid, duplicate).",
	}, []string{"verb"})
	certificatesIssued = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "library", Name: "certificates_issued_total",
		Help: "Course certificates issued.",
	})
	forwarded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "library", Name: "lrs_statements_total",
		Help: "Statements forwarded to external LRSs, by result (ok, failed, dropped).",
	}, []string{"result"})
)

func init() { metrics.MustRegister(statementsTotal, certificatesIssued, forwarded) }
