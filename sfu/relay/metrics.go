package relay

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plenaryhq/plenary/internal/metrics"
)

// sendTimeout bounds the bus publish of a leave message on Close.
const sendTimeout = 2 * time.Second

// Labels are bounded: link is "origin>edge" (node pairs, bounded by the
// node count) and side is origin or edge. Never tenants or rooms.
var (
	relayLinks = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plenary_sfu_relay_links",
		Help: "Open relay links (one per origin, edge and room) by node pair and side.",
	}, []string{"link", "side"})
	relayTracks = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plenary_sfu_relay_tracks",
		Help: "Tracks currently relayed into this edge node, by node pair.",
	}, []string{"link"})
	relayLayers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "plenary_sfu_relay_layer_tracks",
		Help: "Tracks an origin node relays out, by node pair and simulcast layer sent (only the layer wanted downstream crosses the link).",
	}, []string{"link", "layer"})
	relayRebuilds = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plenary_sfu_relay_rebuilds_total",
		Help: "Relay links rebuilt by Maintain after they broke, by node pair.",
	}, []string{"link"})
	relayPackets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plenary_sfu_relay_packets_total",
		Help: "RTP packets received over relay links, by node pair.",
	}, []string{"link"})
	relayBytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "plenary_sfu_relay_bytes_total",
		Help: "RTP payload bytes received over relay links, by node pair.",
	}, []string{"link"})
)

func init() {
	metrics.MustRegister(relayLinks, relayTracks, relayLayers, relayRebuilds, relayPackets, relayBytes)
}

// linkLabel is the bounded label value of a node pair.
func linkLabel(origin, edge string) string { return origin + ">" + edge }
