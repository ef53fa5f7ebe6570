package signaling

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Chat delivery latency, server side: from the moment a chat event was
// published by the server that stored it (its server timestamp, carried on
// the bus in the stamped message header, see hub.publish) to the moment its
// frame was written to a client's socket. The gateways' clocks are those of
// one deployment (NTP-synchronised); across machines the figure includes
// their clock offset.
//
// Observing every delivery would put a shared atomic on the hot path of a
// 20,000-member fan-out, so one connection in deliverySampleEvery is sampled
// (chosen when it opens); the distribution is the same.
var metricChatDelivery = prometheus.NewHistogram(prometheus.HistogramOpts{
	Namespace: metrics.Namespace, Subsystem: "chat", Name: "delivery_seconds",
	Help:    "Chat event latency from the server's publish to the frame written to a (sampled) connection.",
	Buckets: []float64{.001, .0025, .005, .01, .025, .05, .075, .1, .15, .25, .5, 1, 2.5, 5, 10},
})

// deliverySampleEvery: one connection in this many observes chat delivery.
const deliverySampleEvery = 8

// connCount numbers connections for sampling.
var connCount atomic.Uint64

// sampleConn reports whether the next connection is sampled.
func sampleConn() bool { return connCount.Add(1)%deliverySampleEvery == 0 }

// observeDelivery records a stamped frame written at now.
func observeDelivery(stamp int64, now time.Time) {
	if d := now.UnixNano() - stamp; d >= 0 {
		metricChatDelivery.Observe(float64(d) / 1e9)
	}
}

func init() { metrics.MustRegister(metricChatDelivery) }
