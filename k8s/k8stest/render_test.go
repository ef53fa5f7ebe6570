package k8stest

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kustomizations are the roots a user applies, relative to k8s/.
var kustomizations = []string{
	"overlays/single-region",
	"overlays/multi-region",
	"loadtest",
	"loadtest/merge",
}

// object is one rendered Kubernetes object.
type object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// YAML is the object as kustomize rendered it.
	YAML []byte
	// Map is the object decoded generically, for walking.
	Map map[string]any
}

// id names the object in messages.
func (o object) id() string { return o.Kind + "/" + o.Name }

// k8sDir is the absolute path of the repository's k8s/ directory.
func k8sDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// repoDir is the absolute path of the repository root.
func repoDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(k8sDir(t))
}

var (
	renderMu    sync.Mutex
	renderCache = map[string][]object{}
)

// rendered builds the kustomization at k8s/<rel> once per test binary.
func rendered(t testing.TB, rel string) []object {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if objs, ok := renderCache[rel]; ok {
		return objs
	}
	objs := build(t, filepath.Join(k8sDir(t), rel))
	renderCache[rel] = objs
	return objs
}

// build runs kustomize on dir, as `kubectl kustomize dir` would.
func build(t testing.TB, dir string) []object {
	t.Helper()
	// Default options are kubectl's: load restrictor "root only", no
	// plugins, no Helm.
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var objs []object
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s/%s as YAML: %v", dir, r.GetKind(), r.GetName(), err)
		}
		var mp map[string]any
		if err := yaml.Unmarshal(y, &mp); err != nil {
			t.Fatalf("%s: %s/%s: %v", dir, r.GetKind(), r.GetName(), err)
		}
		objs = append(objs, object{
			APIVersion: r.GetApiVersion(), Kind: r.GetKind(), Name: r.GetName(),
			Namespace: r.GetNamespace(), YAML: y, Map: mp,
		})
	}
	return objs
}

// allRendered returns the objects of every kustomization, by kustomization.
func allRendered(t testing.TB) map[string][]object {
	t.Helper()
	out := map[string][]object{}
	for _, k := range kustomizations {
		out[k] = rendered(t, k)
	}
	return out
}

// find returns the object of kind and name in objs.
func find(objs []object, kind, name string) (object, bool) {
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return object{}, false
}

// ofKind returns the objects of kind in objs.
func ofKind(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// inCI reports whether tests run in CI, where missing tools fail tests.
func inCI() bool { return os.Getenv("CI") == "true" }

// TestKustomizeBuild builds every kustomization and checks the basics every
// object needs: a namespace for namespaced kinds, unique identities, and the
// part-of label on everything Plenary owns.
func TestKustomizeBuild(t *testing.T) {
	clusterScoped := map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true}
	for _, k := range kustomizations {
		t.Run(k, func(t *testing.T) {
			objs := rendered(t, k)
			if len(objs) == 0 {
				t.Fatal("renders no objects")
			}
			seen := map[string]bool{}
			for _, o := range objs {
				if seen[o.id()] {
					t.Errorf("%s rendered twice", o.id())
				}
				seen[o.id()] = true
				if !clusterScoped[o.Kind] && o.Namespace != "plenary" {
					t.Errorf("%s: namespace %q, want plenary", o.id(), o.Namespace)
				}
				if strings.HasPrefix(o.Name, "plenary") && o.Kind != "Namespace" {
					labels, _ := dig(o.Map, "metadata", "labels").(map[string]any)
					if labels["app.kubernetes.io/part-of"] != "plenary" {
						t.Errorf("%s: no label app.kubernetes.io/part-of=plenary", o.id())
					}
				}
			}
		})
	}
}

// dig walks nested maps along keys; nil when a key is missing.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
