package relay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/noderegistry"
)

// TestHubSkipsSilentAndDrainingNodes: the hub is the lowest-ID node of the
// region that is neither draining nor silent for longer than staleAfter (a
// killed node stays listed until its TTL expires); other regions never
// count. A draining node does not elect itself.
func TestHubSkipsSilentAndDrainingNodes(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	const stale = 2500 * time.Millisecond
	node := func(id, region string, age time.Duration, draining bool) noderegistry.Node {
		return noderegistry.Node{ID: id, Region: region, Updated: now.Add(-age), Draining: draining}
	}
	for _, tc := range []struct {
		name  string
		nodes []noderegistry.Node
		want  string
	}{
		{"lowest live ID", []noderegistry.Node{node("b1", "b", time.Second, false), node("b2", "b", 0, false)}, "b1"},
		{"silent lowest skipped", []noderegistry.Node{node("b1", "b", 3*time.Second, false), node("b2", "b", 0, false)}, "b2"},
		{"draining skipped", []noderegistry.Node{node("b1", "b", 0, true), node("b2", "b", 0, false)}, "b2"},
		{"other region ignored", []noderegistry.Node{node("a1", "a", 0, false), node("b2", "b", 0, false)}, "b2"},
		{"zero Updated counts as fresh", []noderegistry.Node{{ID: "b1", Region: "b"}, node("b2", "b", 0, false)}, "b1"},
		{"self when alone", []noderegistry.Node{node("b3", "b", 0, false)}, "b2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, hub("b2", false, "b", tc.nodes, now, stale, nil))
		})
	}
	// A draining node is not its own hub: the next live node is, and
	// with none left it links directly (itself).
	live := []noderegistry.Node{node("b2", "b", 0, true), node("b3", "b", 0, false), node("b4", "b", 0, false)}
	require.Equal(t, "b3", hub("b2", true, "b", live, now, stale, nil))
	require.Equal(t, "b2", hub("b2", true, "b", live[:1], now, stale, nil))
	// A node found absent from the bus (killed a moment ago, its entry
	// still fresh) is skipped until the record is older than absentHold.
	fresh := []noderegistry.Node{node("b1", "b", 500*time.Millisecond, false), node("b2", "b", 0, false)}
	recent := func(ago time.Duration) map[string]time.Time {
		return stillAbsent(map[string]time.Time{"b1": now.Add(-ago)}, now)
	}
	require.Equal(t, "b2", hub("b2", false, "b", fresh, now, stale, recent(100*time.Millisecond)))
	require.Equal(t, "b1", hub("b2", false, "b", fresh, now, stale, recent(absentHold)))
}

// TestKeepRoutesWhileDraining: a draining node keeps the route it has for a
// root's tracks even when the hub changed (its clients keep their media
// until they move), and opens what it has no route for.
func TestKeepRoutesWhileDraining(t *testing.T) {
	viaA1 := routeKey{upstream: "a1", root: "a1", tenant: "acme", room: "stage"}
	viaB2 := routeKey{upstream: "b2", root: "a1", tenant: "acme", room: "stage"}
	other := routeKey{upstream: "b2", root: "c1", tenant: "acme", room: "stage"}
	routes := map[routeKey]*route{viaA1: {}}
	got := keepRoutes(map[routeKey]bool{viaB2: true, other: true}, routes)
	require.Equal(t, map[routeKey]bool{viaA1: true, other: true}, got)
}
