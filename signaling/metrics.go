package signaling

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// Collectors of the signaling gateway. Labels are bounded: message types
// are reduced to the known ones (or their area), codes are the protocol's.
var (
	metricConnections = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "connections",
		Help: "Open WebSocket connections.",
	})
	metricSessions = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "sessions",
		Help: "Sessions, connected or in their resume grace period.",
	})
	metricSessionsInGrace = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "sessions_in_grace",
		Help: "Sessions whose connection dropped, waiting for a resume.",
	})
	metricMembers = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "room_members",
		Help: "Room memberships of local sessions.",
	})
	metricRooms = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "rooms",
		Help: "Rooms with local members (one bus subscription each).",
	})
	metricFramesIn = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "frames_in_total",
		Help: "Client frames read.",
	})
	metricFramesOut = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "frames_out_total",
		Help: "Frames written to clients.",
	})
	metricWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "socket_writes_total",
		Help: "Socket writes of frames: inline (non-blocking, on the fan-out's goroutine), partial (the socket was full; a writer goroutine finished it) or writer (a writer goroutine's).",
	}, []string{"path"})
	metricFanout = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "fanout_deliveries_total",
		Help: "Room event deliveries to local members (one shared frame per event).",
	})
	metricRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "requests_total",
		Help: "Client requests by type (areas of registered handlers are counted per area).",
	}, []string{"type"})
	metricErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "errors_total",
		Help: "Error replies by protocol code.",
	}, []string{"code"})
	metricCloses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "closes_total",
		Help: "Connections closed by the server, by close code.",
	}, []string{"code"})
	metricSlowConsumers = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "slow_consumers_total",
		Help: "Connections closed because their send queue overflowed.",
	})
	metricResumes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "resumes_total",
		Help: "Resume attempts by result (ok, expired, gap, invalid).",
	}, []string{"result"})
	metricFeeds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "scheduler_feeds",
		Help: "Bus subscriptions to scheduler events, by kind (user: one per user with sessions here; tenant: one per tenant with rooms here).",
	}, []string{"kind"})
	metricScheduleEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "schedule_events_total",
		Help: "Scheduler events delivered to local sessions, by type.",
	}, []string{"type"})
	metricJoinSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: metrics.Namespace, Subsystem: "signaling", Name: "join_seconds",
		Help:    "Time to serve a join request.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
)

func init() {
	metrics.MustRegister(metricConnections, metricSessions, metricSessionsInGrace, metricMembers, metricRooms,
		metricFramesIn, metricFramesOut, metricWrites, metricFanout, metricRequests, metricErrors, metricCloses,
		metricSlowConsumers, metricResumes, metricJoinSeconds, metricFeeds, metricScheduleEvents)
}

// knownTypes are the built-in types counted by name.
var knownTypes = map[string]bool{
	typeJoin: true, typeLeave: true, typePing: true, typeResume: true,
	typeMediaOffer: true, typeMediaAnswer: true, typeMediaICE: true, typeMediaSubscribe: true,
	typeMediaUnsubscribe: true, typeMediaPrefs: true, typeMediaRestart: true, typeMediaMute: true,
	typeModPromote: true, typeModDemote: true, typeModMute: true, typeModRemove: true, typeModBan: true,
	typeModLock: true, typeHandRaise: true, typeHandLower: true,
}

// typeLabel bounds the type label: built-in types by name, types of a
// registered area by area ("chat.*"), "other" otherwise.
func (g *Gateway) typeLabel(t string) string {
	if knownTypes[t] {
		return t
	}
	if g.handlerFor(t) != nil {
		area, _, _ := strings.Cut(t, ".")
		return area + ".*"
	}
	return "other"
}

// codeLabel is the label of a protocol error code.
func codeLabel(code int) string {
	if code < 1000 || code > 4999 {
		return "other"
	}
	return strconv.Itoa(code)
}

// closeLabel is the label of a close code.
func closeLabel(code int) string { return codeLabel(code) }
