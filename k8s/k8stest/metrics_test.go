package k8stest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/plenaryhq/plenary/internal/metrics"

	// Every package that registers collectors (TestMetricPackagesImported
	// keeps this list complete). Their init functions register into
	// metrics.Registry, which the tests then describe.
	_ "github.com/plenaryhq/plenary/chat"
	_ "github.com/plenaryhq/plenary/internal/auth"
	_ "github.com/plenaryhq/plenary/internal/bus"
	_ "github.com/plenaryhq/plenary/internal/httpserver"
	_ "github.com/plenaryhq/plenary/internal/queue"
	_ "github.com/plenaryhq/plenary/recorder"
	_ "github.com/plenaryhq/plenary/recorder/capture"
	_ "github.com/plenaryhq/plenary/recorder/library"
	_ "github.com/plenaryhq/plenary/recorder/packager"
	_ "github.com/plenaryhq/plenary/recorder/playback"
	_ "github.com/plenaryhq/plenary/scheduler/actions"
	_ "github.com/plenaryhq/plenary/sfu"
	_ "github.com/plenaryhq/plenary/sfu/relay"
	_ "github.com/plenaryhq/plenary/sfu/whip"
	_ "github.com/plenaryhq/plenary/signaling"
)

// module is the Go module path of the repository.
const module = "github.com/plenaryhq/plenary"

// metricInfo describes one registered metric family.
type metricInfo struct {
	// Type is counter, gauge, histogram, summary, untyped, or "" when the
	// family has no series yet and the source does not say.
	Type string
	// Labels are its variable and constant label names.
	Labels map[string]bool
}

var (
	metricsOnce sync.Once
	metricsAll  map[string]metricInfo
)

// descRE parses prometheus.Desc.String().
var descRE = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", help: .*, constLabels: \{(.*)\}, variableLabels: \{(.*)\}\}$`)

// registered returns every metric family of metrics.Registry: described
// collectors (so vectors without series count) and gathered families (for
// their types), with histogram and summary types filled in from the source
// for families that have no series yet.
func registered(t testing.TB) map[string]metricInfo {
	t.Helper()
	metricsOnce.Do(func() {
		all := map[string]metricInfo{}
		// Describe lists every collector, including vectors that have no
		// series yet (Gather would omit them).
		ch := make(chan *prometheus.Desc)
		go func() {
			metrics.Registry.Describe(ch)
			close(ch)
		}()
		for d := range ch {
			m := descRE.FindStringSubmatch(d.String())
			if m == nil {
				t.Errorf("cannot parse %s", d.String())
				continue
			}
			info := metricInfo{Labels: map[string]bool{}}
			for _, p := range splitList(m[2]) {
				name, _, _ := strings.Cut(p, "=")
				info.Labels[name] = true
			}
			for _, l := range splitList(m[3]) {
				info.Labels[strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")] = true
			}
			all[m[1]] = info
		}
		// Gather gives the types of the families that have series.
		fams, err := metrics.Registry.Gather()
		if err != nil {
			t.Errorf("gather: %v", err)
		}
		for _, f := range fams {
			info, ok := all[f.GetName()]
			if !ok {
				info = metricInfo{Labels: map[string]bool{}}
			}
			info.Type = strings.ToLower(dto.MetricType_name[int32(f.GetType())])
			all[f.GetName()] = info
		}
		for name, typ := range sourceTypes(t) {
			if info, ok := all[name]; ok && info.Type == "" {
				info.Type = typ
				all[name] = info
			}
		}
		metricsAll = all
	})
	return metricsAll
}

// splitList splits "a,b" (as Desc prints label lists) into its items.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// registeringPackages walks the repository for non-test Go files that
// register collectors, and returns their import paths.
func registeringPackages(t testing.TB) []string {
	t.Helper()
	root := repoDir(t)
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), "metrics.MustRegister(") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		if rel != filepath.Join("internal", "metrics") {
			seen[module+"/"+filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys(seen)
}

// TestMetricPackagesImported keeps the imports above complete: a package
// that registers metrics but is not linked into this test binary would make
// the alert and dashboard checks miss its names.
func TestMetricPackagesImported(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-test", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	linked := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		linked[p] = true
	}
	for _, p := range registeringPackages(t) {
		if !linked[p] {
			t.Errorf("package %s registers metrics but is not linked into k8s/k8stest; add _ %q "+
				"(or, for an internal package, its parent) to the imports of metrics_test.go", p, p)
		}
	}
}

// sourceTypes finds histograms and summaries in the source of the
// registering packages: composite literals of prometheus.HistogramOpts or
// SummaryOpts with Namespace, Subsystem and Name given as string literals or
// metrics.Namespace.
func sourceTypes(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, pkg := range registeringPackages(t) {
		dir := filepath.Join(repoDir(t), filepath.FromSlash(strings.TrimPrefix(pkg, module+"/")))
		fset := token.NewFileSet()
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Errorf("parse %s: %v", path, err)
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok {
					return true
				}
				sel, ok := lit.Type.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				typ := map[string]string{"HistogramOpts": "histogram", "SummaryOpts": "summary"}[sel.Sel.Name]
				if typ == "" {
					return true
				}
				parts := map[string]string{}
				for _, e := range lit.Elts {
					kv, ok := e.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, _ := kv.Key.(*ast.Ident)
					if key == nil {
						continue
					}
					switch v := kv.Value.(type) {
					case *ast.BasicLit:
						parts[key.Name], _ = strconv.Unquote(v.Value)
					case *ast.SelectorExpr:
						if v.Sel.Name == "Namespace" {
							parts[key.Name] = metrics.Namespace
						}
					}
				}
				var name []string
				for _, k := range []string{"Namespace", "Subsystem", "Name"} {
					if parts[k] != "" {
						name = append(name, parts[k])
					}
				}
				out[strings.Join(name, "_")] = typ
				return true
			})
		}
	}
	return out
}

// TestRegistryDescribed sanity-checks the registry reading: known families
// are there with their labels and types.
func TestRegistryDescribed(t *testing.T) {
	all := registered(t)
	cases := []struct {
		name, typ string
		label     string
	}{
		{"plenary_signaling_connections", "gauge", ""},
		{"plenary_signaling_join_seconds", "histogram", ""},
		{"plenary_queue_processed_total", "", "result"},
		{"plenary_sfu_forwarded_packets_total", "", "kind"},
		{"process_cpu_seconds_total", "counter", ""},
	}
	for _, c := range cases {
		info, ok := all[c.name]
		if !ok {
			t.Errorf("%s is not registered (registry has %d families)", c.name, len(all))
			continue
		}
		if c.typ != "" && info.Type != c.typ {
			t.Errorf("%s: type %q, want %q", c.name, info.Type, c.typ)
		}
		if c.label != "" && !info.Labels[c.label] {
			t.Errorf("%s: no label %q in %v", c.name, c.label, keys(info.Labels))
		}
	}
	if !slices.ContainsFunc(keys(all), func(n string) bool { return strings.HasPrefix(n, "go_") }) {
		t.Error("no Go runtime metrics: is the Go collector registered?")
	}
}
