package k8stest

import (
	"slices"
	"testing"
)

// regionLabel is the pod label the overlays give a region's workloads; the
// ServiceMonitors copy it into the "region" label of every series.
const regionLabel = "plenary.io/region"

// TestMediaTopology checks that gateways can reach SFU nodes in other pods
// (signaling/sfurpc): both sides share Redis (the node registry and the
// bus), every SFU node registers under its pod name (unique across regions,
// stable across restarts), each process's --region is the region its pods
// are labelled with (placement and the dashboards agree), and every region
// with gateways has SFU nodes of its own.
func TestMediaTopology(t *testing.T) {
	h := help(t, "serve")
	for k, runs := range serveRuns(t) {
		objs := rendered(t, k)
		sfuRegions := map[string]bool{}
		var gatewayRegions []string
		for _, iv := range runs {
			cfg := serveConfig(t, iv, objs, h)
			roles, _ := rolesOf(t, cfg, h)
			sfu, gateway := slices.Contains(roles, "sfu"), slices.Contains(roles, "signaling")
			if !sfu && !gateway {
				continue
			}
			region := cfg["region"]
			if got := iv.pod.tmpl.Labels[regionLabel]; got != region {
				t.Errorf("%s %s: --region %q but its pods are labelled %s=%q", k, iv.where(), region, regionLabel, got)
			}
			if cfg["redis-url"] == "" {
				t.Errorf("%s %s: no --redis-url: SFU nodes and gateways meet only through the Redis node registry and bus", k, iv.where())
			}
			if sfu {
				sfuRegions[region] = true
				if !gateway {
					checkNodeIDFromPodName(t, k, iv)
				}
			}
			if gateway {
				gatewayRegions = append(gatewayRegions, region)
			}
		}
		for _, r := range gatewayRegions {
			if !sfuRegions[r] {
				t.Errorf("%s: gateways of region %q but no SFU node there: their rooms would have no media", k, r)
			}
		}
	}
}

// checkNodeIDFromPodName checks that an SFU container sets PLENARY_NODE_ID
// from the pod's name (the default, <region>-<hostname>, is the machine's
// name under the host network, and changes when the pod moves).
func checkNodeIDFromPodName(t *testing.T, k string, iv invocation) {
	t.Helper()
	for _, e := range iv.container.Env {
		if e.Name != "PLENARY_NODE_ID" {
			continue
		}
		if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
			t.Errorf("%s %s: PLENARY_NODE_ID should come from the pod name (fieldRef metadata.name)", k, iv.where())
		}
		return
	}
	t.Errorf("%s %s: no PLENARY_NODE_ID: the node would register as <region>-<hostname>, the machine's name", k, iv.where())
}
