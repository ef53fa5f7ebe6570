package k8stest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// targetLabels are the labels Prometheus adds to every series it scrapes
// through the monitors: the operator's defaults and the monitors'
// relabelings (component, region).
var targetLabels = []string{"namespace", "pod", "container", "endpoint", "service", "job", "instance", "component", "region"}

// externalMetrics are metrics the code does not export but the manifests
// scrape from elsewhere, with the labels they carry and the monitor kind
// and port that must scrape them.
var externalMetrics = map[string]struct {
	labels      []string
	monitorPort string
}{
	// Synthesised by Prometheus for every target.
	"up": {},
	// RabbitMQ's rabbitmq_prometheus plugin with per-object metrics.
	"rabbitmq_queue_messages_ready": {labels: []string{"queue", "vhost"}, monitorPort: "prometheus"},
}

// checkSelector reports why a selector's metric or labels are not what the
// code (or a scraped external exporter) provides, or nil.
func checkSelector(t testing.TB, sel selector, objs []object) error {
	t.Helper()
	all := registered(t)
	allowed := map[string]bool{}
	for _, l := range targetLabels {
		allowed[l] = true
	}
	name := sel.Metric
	info, ok := all[name]
	switch {
	// A family the code registers.
	case ok:
	// The series of a histogram: name_bucket (with le), name_sum, name_count.
	case strings.HasSuffix(name, "_bucket"):
		base := strings.TrimSuffix(name, "_bucket")
		if info, ok = all[base]; !ok || info.Type != "histogram" {
			return fmt.Errorf("%s: %s is not a registered histogram", name, base)
		}
		allowed["le"] = true
	case strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count"):
		base := strings.TrimSuffix(strings.TrimSuffix(name, "_sum"), "_count")
		if info, ok = all[base]; !ok || (info.Type != "histogram" && info.Type != "summary") {
			return fmt.Errorf("%s: %s is not a registered histogram or summary", name, base)
		}
	// Not the code's: only the listed exporters, and only if scraped.
	default:
		ext, isExt := externalMetrics[name]
		if !isExt {
			return fmt.Errorf("%s is not exported by the code (not in metrics.Registry)", name)
		}
		if ext.monitorPort != "" && !scraped(t, objs, ext.monitorPort) {
			return fmt.Errorf("%s comes from an exporter on port %q that no ServiceMonitor scrapes", name, ext.monitorPort)
		}
		info = metricInfo{Labels: map[string]bool{}}
		for _, l := range ext.labels {
			info.Labels[l] = true
		}
	}
	for _, l := range sel.Labels {
		if !info.Labels[l] && !allowed[l] && l != "quantile" {
			return fmt.Errorf("%s has no label %q (it has %v and the target labels)", name, l, keys(info.Labels))
		}
	}
	return nil
}

// scraped reports whether a ServiceMonitor scrapes port on a Service of a
// RabbitmqCluster in objs.
func scraped(t testing.TB, objs []object, port string) bool {
	t.Helper()
	for _, o := range ofKind(objs, "ServiceMonitor") {
		sm := decodeStrict(t, o).(*ServiceMonitor)
		if !selects(t, &sm.Spec.Selector, operatorServices(objs)) {
			continue
		}
		for _, e := range sm.Spec.Endpoints {
			if e.Port == port {
				return true
			}
		}
	}
	return false
}

// rules returns the PrometheusRules of the multi-region overlay.
func rules(t testing.TB) []*PrometheusRule {
	t.Helper()
	var out []*PrometheusRule
	for _, o := range ofKind(rendered(t, "overlays/multi-region"), "PrometheusRule") {
		out = append(out, decodeStrict(t, o).(*PrometheusRule))
	}
	if len(out) == 0 {
		t.Fatal("no PrometheusRule rendered")
	}
	return out
}

// promtool returns the path of promtool, skipping the test (failing it in
// CI) when it is not installed.
func promtool(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if inCI() {
			t.Fatal("promtool not found (Debian package prometheus; scripts/deps.sh installs it)")
		}
		t.Skip("promtool not found; install the Debian package prometheus")
	}
	return p
}

// writeRules writes groups as a Prometheus rule file in dir.
func writeRules(t testing.TB, dir, name string, groups []ruleGroup) string {
	t.Helper()
	b, err := yaml.Marshal(map[string]any{"groups": groups})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runPromtool runs promtool with args in dir and fails with its output.
func runPromtool(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// allGroups returns the rule groups of every PrometheusRule.
func allGroups(t testing.TB) []ruleGroup {
	t.Helper()
	var groups []ruleGroup
	for _, r := range rules(t) {
		groups = append(groups, r.Spec.Groups...)
	}
	return groups
}

// TestPromtoolCheckRules runs `promtool check rules` on the alert groups.
func TestPromtoolCheckRules(t *testing.T) {
	dir := t.TempDir()
	runPromtool(t, dir, "check", "rules", writeRules(t, dir, "plenary.rules.yaml", allGroups(t)))
}

// TestAlertUnitTests runs the promtool unit tests of the alerts in
// testdata/alerts_test.yaml against the rendered rules: the alerts fire on
// the series they are written for, with the labels and texts expected.
func TestAlertUnitTests(t *testing.T) {
	dir := t.TempDir()
	writeRules(t, dir, "plenary.rules.yaml", allGroups(t))
	b, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yaml"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "test", "rules", "alerts_test.yaml")
}

// TestAlertRules checks every alert: its metrics and labels exist, it has a
// severity and a summary, and docs/operations.md has its runbook.
func TestAlertRules(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoDir(t), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	objs := rendered(t, "overlays/multi-region")
	names := map[string]bool{}
	for _, g := range allGroups(t) {
		for _, r := range g.Rules {
			where := g.Name + "/" + r.Alert + r.Record
			if r.Alert != "" {
				if names[r.Alert] {
					t.Errorf("alert %s defined twice", r.Alert)
				}
				names[r.Alert] = true
				if s := r.Labels["severity"]; s != "warning" && s != "critical" {
					t.Errorf("%s: severity %q, want warning or critical", where, s)
				}
				if r.Annotations["summary"] == "" {
					t.Errorf("%s: no summary annotation", where)
				}
				if !strings.Contains(string(doc), r.Alert) {
					t.Errorf("%s: docs/operations.md has no runbook for it", where)
				}
			}
			sels, err := selectors(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if len(sels) == 0 {
				t.Errorf("%s: no metric in %q", where, r.Expr)
			}
			for _, s := range sels {
				if err := checkSelector(t, s, objs); err != nil {
					t.Errorf("%s: %v", where, err)
				}
			}
		}
	}
}

// dashboard is the part of a Grafana dashboard model the checks read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// panel is a dashboard panel (rows nest panels).
type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	} `json:"targets"`
	GridPos *struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

// dashboards returns the dashboards of the plenary-dashboards ConfigMap.
func dashboards(t testing.TB) map[string]dashboard {
	t.Helper()
	o, ok := find(rendered(t, "overlays/multi-region"), "ConfigMap", "plenary-dashboards")
	if !ok {
		t.Fatal("ConfigMap plenary-dashboards is not rendered")
	}
	cm := decodeStrict(t, o).(*corev1.ConfigMap)
	if cm.Labels["grafana_dashboard"] != "1" {
		t.Error("plenary-dashboards lacks the label grafana_dashboard=1 the Grafana sidecar looks for")
	}
	out := map[string]dashboard{}
	for file, text := range cm.Data {
		var d dashboard
		if err := json.Unmarshal([]byte(text), &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		out[file] = d
	}
	return out
}

// grafanaVarRE matches Grafana variables in queries.
var grafanaVarRE = regexp.MustCompile(`\$\{?(__rate_interval|__interval|__range)\}?|\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?`)

// substituteVars makes a dashboard query plain PromQL: intervals become 5m,
// template variables a value.
func substituteVars(q string) string {
	return grafanaVarRE.ReplaceAllStringFunc(q, func(v string) string {
		if strings.Contains(v, "__") {
			return "5m"
		}
		return "x"
	})
}

// labelValuesRE parses a label_values(metric, label) variable query.
var labelValuesRE = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

// TestDashboards checks the dashboards: the four expected ones, unique uids
// and panel ids, every query's metrics and labels exist, every query is
// valid PromQL (promtool, as recording rules), variables query real labels.
func TestDashboards(t *testing.T) {
	objs := rendered(t, "overlays/multi-region")
	ds := dashboards(t)
	for _, want := range []string{"plenary-overview.json", "plenary-media.json", "plenary-chat.json", "plenary-jobs.json"} {
		if _, ok := ds[want]; !ok {
			t.Errorf("dashboard %s missing", want)
		}
	}
	uids := map[string]bool{}
	var recs []rule
	for file, d := range ds {
		if d.UID == "" || uids[d.UID] {
			t.Errorf("%s: uid %q empty or not unique", file, d.UID)
		}
		uids[d.UID] = true
		ids := map[int]bool{}
		var walk func(ps []panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if ids[p.ID] {
					t.Errorf("%s: panel id %d used twice", file, p.ID)
				}
				ids[p.ID] = true
				if p.GridPos == nil {
					t.Errorf("%s: panel %q has no gridPos", file, p.Title)
				}
				if p.Type != "row" && len(p.Targets) == 0 {
					t.Errorf("%s: panel %q has no query", file, p.Title)
				}
				for _, tg := range p.Targets {
					where := fmt.Sprintf("%s panel %q %s", file, p.Title, tg.RefID)
					// Checked as a recording rule by promtool below.
					q := substituteVars(tg.Expr)
					recs = append(recs, rule{Record: fmt.Sprintf("dashboard:q%d", len(recs)), Expr: q})
					sels, err := selectors(q)
					if err != nil {
						t.Errorf("%s: %v", where, err)
					}
					for _, s := range sels {
						if err := checkSelector(t, s, objs); err != nil {
							t.Errorf("%s: %v", where, err)
						}
					}
				}
				walk(p.Panels)
			}
		}
		walk(d.Panels)
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			q, _ := v.Query.(string)
			if m, ok := v.Query.(map[string]any); ok {
				q, _ = m["query"].(string)
			}
			m := labelValuesRE.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(metric, label)", file, v.Name, q)
				continue
			}
			if err := checkSelector(t, selector{Metric: m[1], Labels: []string{m[2]}}, objs); err != nil {
				t.Errorf("%s: variable %s: %v", file, v.Name, err)
			}
		}
	}
	dir := t.TempDir()
	runPromtool(t, dir, "check", "rules", writeRules(t, dir, "dashboards.rules.yaml",
		[]ruleGroup{{Name: "dashboards", Rules: recs}}))
}

// TestAutoscalerMetrics checks that custom metrics HPAs scale on are gauges
// the code exports.
func TestAutoscalerMetrics(t *testing.T) {
	n := 0
	for k, objs := range allRendered(t) {
		for _, o := range ofKind(objs, "HorizontalPodAutoscaler") {
			hpa := decodeStrict(t, o).(*autoscalingv2.HorizontalPodAutoscaler)
			for _, m := range hpa.Spec.Metrics {
				if m.Type != autoscalingv2.PodsMetricSourceType || m.Pods == nil {
					continue
				}
				n++
				name := m.Pods.Metric.Name
				info, ok := registered(t)[name]
				if !ok {
					t.Errorf("%s %s scales on %s, which the code does not export", k, o.id(), name)
				} else if info.Type != "gauge" {
					t.Errorf("%s %s scales on %s, a %s; a per-pod load metric must be a gauge", k, o.id(), name, info.Type)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no HPA scales on a custom (Pods) metric")
	}
}
