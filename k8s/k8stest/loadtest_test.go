package k8stest

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// completionsRE finds the shard count in k8s/loadtest/job.yaml.
var completionsRE = regexp.MustCompile(`(?m)^  completions: \d+$`)

// renderLoadTest renders a copy of k8s/loadtest whose Job has n shards, the
// way an operator changes it (one number: spec.completions).
func renderLoadTest(t *testing.T, n int) []object {
	t.Helper()
	src := filepath.Join(k8sDir(t), "loadtest")
	dst := t.TempDir()
	for _, f := range []string{"kustomization.yaml", "job.yaml", "reports-pvc.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "job.yaml" {
			if !completionsRE.Match(b) {
				t.Fatal("job.yaml has no `  completions: N` line")
			}
			b = completionsRE.ReplaceAll(b, []byte("  completions: "+strconv.Itoa(n)))
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return build(t, dst)
}

// shardRun is what the shard Job runs, resolved for the checks.
type shardRun struct {
	job     *batchv1.Job
	flags   map[string]string
	index   string // the variable holding the completion index
	reports string // mount path of the reports volume
	claim   string
}

// shardJob finds and checks the sharded Job in objs.
func shardJob(t *testing.T, objs []object) shardRun {
	t.Helper()
	o, ok := find(objs, "Job", "plenary-loadtest")
	if !ok {
		t.Fatal("Job plenary-loadtest not rendered")
	}
	run := shardRun{job: decodeStrict(t, o).(*batchv1.Job)}
	ivs := invocations(t, objs)
	if len(ivs) != 1 || strings.Join(ivs[0].sub, " ") != "loadtest" {
		t.Fatalf("want one `plenary loadtest` run, got %d", len(ivs))
	}
	iv := ivs[0]
	run.flags, _, _ = parseFlags(iv.args, loadtestHelp(t, "loadtest"))
	for _, e := range iv.container.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
			e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
			run.index = e.Name
		}
	}
	run.reports, run.claim = reportsMount(t, iv.pod.tmpl.Spec, iv.container)
	return run
}

// loadtestHelp is the help of `plenary <sub...>`, or, before that
// subcommand exists, the flags issue 8 specifies for it.
func loadtestHelp(t *testing.T, sub ...string) helpText {
	t.Helper()
	if h := help(t, sub...); h.Exists {
		return h
	}
	v := flagInfo{Value: true}
	if len(sub) > 1 {
		return helpText{Flags: map[string]flagInfo{"out": v}}
	}
	return helpText{Flags: map[string]flagInfo{"target": v, "scenario": v, "report": v, "shard": v,
		"tenant": v, "run-id": v, "organizer-token": v}}
}

// reportsMount returns the mount path and claim of the container's
// PersistentVolumeClaim volume.
func reportsMount(t *testing.T, spec corev1.PodSpec, c corev1.Container) (string, string) {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		for _, m := range c.VolumeMounts {
			if m.Name == v.Name {
				return m.MountPath, v.PersistentVolumeClaim.ClaimName
			}
		}
	}
	t.Fatalf("container %s mounts no volume claim", c.Name)
	return "", ""
}

// TestLoadTestShards renders the load test with n shards and checks that
// the Job runs n indexed pods, shard i of n each, each writing its own
// report directory on the shared volume, and that the merge Job's inputs
// are exactly those n directories.
func TestLoadTestShards(t *testing.T) {
	shipped := shardJob(t, rendered(t, "loadtest"))
	cases := map[string]func(t *testing.T) []object{
		"shipped": func(t *testing.T) []object { return rendered(t, "loadtest") },
		"n=1":     func(t *testing.T) []object { return renderLoadTest(t, 1) },
		"n=8":     func(t *testing.T) []object { return renderLoadTest(t, 8) },
	}
	for name, objs := range cases {
		t.Run(name, func(t *testing.T) {
			run := shardJob(t, objs(t))
			job := run.job
			if job.Spec.CompletionMode == nil || *job.Spec.CompletionMode != batchv1.IndexedCompletion {
				t.Fatal("the Job is not Indexed")
			}
			n := int(*job.Spec.Completions)
			if name == "n=1" && n != 1 || name == "n=8" && n != 8 {
				t.Fatalf("completions %d", n)
			}
			if job.Spec.Parallelism == nil || int(*job.Spec.Parallelism) != n {
				t.Errorf("parallelism %v, want %d: all shards must run at once", job.Spec.Parallelism, n)
			}
			if run.index == "" {
				t.Fatal("no env var carries the completion index (downward API annotation batch.kubernetes.io/job-completion-index)")
			}
			idx := "$(" + run.index + ")"
			if want := idx + "/" + strconv.Itoa(n); run.flags["shard"] != want {
				t.Errorf("--shard %q, want %q", run.flags["shard"], want)
			}
			if !strings.Contains(run.flags["report"], idx) || !strings.HasPrefix(run.flags["report"], run.reports+"/") {
				t.Errorf("--report %q: want a per-shard directory (with %s) on the reports volume %s", run.flags["report"], idx, run.reports)
			}
			for _, f := range []string{"target", "tenant", "run-id", "organizer-token"} {
				if run.flags[f] == "" {
					t.Errorf("--%s is not set: every shard needs it (and the same --run-id)", f)
				}
			}
			if strings.Contains(run.flags["run-id"], "$(") {
				t.Errorf("--run-id %q varies per pod; the shards of a run share one", run.flags["run-id"])
			}
			if job.Spec.BackoffLimitPerIndex == nil || *job.Spec.BackoffLimitPerIndex != 0 {
				t.Error("a failed shard must not be rerun (backoffLimitPerIndex: 0)")
			}
			// The report directory of each shard, index substituted.
			var outs []string
			for i := range n {
				outs = append(outs, strings.ReplaceAll(run.flags["report"], idx, strconv.Itoa(i)))
			}
			checkMerge(t, outs, run)
		})
	}
	if n := int(*shipped.job.Spec.Completions); n < 2 {
		t.Errorf("the shipped load test has %d shard(s); a distributed run needs several", n)
	}
}

// checkMerge checks that the merge Job reads exactly the shards' outputs
// from the same volume and writes its own output outside them.
func checkMerge(t *testing.T, shardOuts []string, shard shardRun) {
	t.Helper()
	objs := rendered(t, "loadtest/merge")
	ivs := invocations(t, objs)
	if len(ivs) != 1 || strings.Join(ivs[0].sub, " ") != "loadtest merge" {
		t.Fatalf("want one `plenary loadtest merge` run, got %d", len(ivs))
	}
	iv := ivs[0]
	flags, inputs, _ := parseFlags(iv.args, loadtestHelp(t, "loadtest", "merge"))
	mount, claim := reportsMount(t, iv.pod.tmpl.Spec, iv.container)
	if claim != shard.claim || mount != shard.reports {
		t.Errorf("merge reads claim %s at %s, shards write claim %s at %s", claim, mount, shard.claim, shard.reports)
	}
	if len(inputs) == 0 {
		t.Fatal("merge has no input directories")
	}
	// Each shard's output must match exactly one input pattern (no shard
	// missed, none read twice), and the output must match none.
	matched := map[string]int{}
	for _, in := range inputs {
		for _, out := range shardOuts {
			if ok, err := path.Match(in, out); err != nil {
				t.Fatalf("input %q: %v", in, err)
			} else if ok {
				matched[out]++
			}
		}
		if ok, _ := path.Match(in, flags["out"]); ok || flags["out"] == "" {
			t.Errorf("merge output --out %q is empty or among its own inputs %q", flags["out"], in)
		}
	}
	for _, out := range shardOuts {
		if matched[out] != 1 {
			t.Errorf("shard output %s is read %d times by the merge (inputs %q)", out, matched[out], inputs)
		}
	}
}

// TestLoadTestScenario checks that the scenario the Job runs ships in the
// image: loadtest/scenarios is copied to /usr/share/plenary/scenarios by
// k8s/Dockerfile.
func TestLoadTestScenario(t *testing.T) {
	const imageDir = "/usr/share/plenary/scenarios"
	docker, err := os.ReadFile(filepath.Join(k8sDir(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docker), "COPY loadtest/scenarios "+imageDir) {
		t.Fatalf("k8s/Dockerfile does not copy loadtest/scenarios to %s", imageDir)
	}
	run := shardJob(t, rendered(t, "loadtest"))
	scen := run.flags["scenario"]
	if path.Dir(scen) != imageDir {
		t.Fatalf("--scenario %q is not in %s", scen, imageDir)
	}
	if _, err := os.Stat(filepath.Join(repoDir(t), "loadtest", "scenarios", path.Base(scen))); err != nil {
		t.Errorf("--scenario %s: %v", scen, err)
	}
}
