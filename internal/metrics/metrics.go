// Package metrics holds the one Prometheus registry every Plenary role
// registers into and serves on /metrics.
//
// Components declare their collectors as package-level variables and register
// them with MustRegister from an init function, so a collector exists once per
// process however many instances of a component a test creates. Metric names
// start with "plenary_"; labels never carry tenant IDs or other unbounded
// values (see ARCHITECTURE.md, Observability).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Plenary metric name.
const Namespace = "plenary"

// Registry is the process-wide registry served by Handler.
var Registry = prometheus.NewRegistry()

func init() {
	Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
}

// MustRegister registers collectors with Registry and panics on a duplicate,
// which is a programming error caught by any test that imports the package.
func MustRegister(cs ...prometheus.Collector) { Registry.MustRegister(cs...) }

// Handler serves Registry in the Prometheus text exposition format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}
