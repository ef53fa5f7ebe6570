package auth

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// verifications counts Verify calls by outcome. The result label takes one
// value per error code (ok, expired, bad_signature, ...), never a tenant.
var verifications = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: metrics.Namespace,
	Subsystem: "auth",
	Name:      "verifications_total",
	Help:      "Token verifications by result (ok or the rejection reason).",
}, []string{"result"})

// The counter of each result, resolved once so that counting a
// verification does not look up or allocate label values.
var (
	verifiedOK       prometheus.Counter
	verificationFail = map[error]prometheus.Counter{}
	verifiedInternal prometheus.Counter
)

func init() {
	metrics.MustRegister(verifications)
	verifiedOK = verifications.WithLabelValues("ok")
	for _, e := range errorTable {
		verificationFail[e.err] = verifications.WithLabelValues(e.label)
	}
	verifiedInternal = verifications.WithLabelValues(internalInfo.label)
}

// countVerification records the outcome of one Verify.
func countVerification(err error) {
	if err == nil {
		verifiedOK.Inc()
		return
	}
	if c, ok := verificationFail[infoFor(err).err]; ok {
		c.Inc()
		return
	}
	verifiedInternal.Inc()
}
