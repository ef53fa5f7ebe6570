package k8stest

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// invocation is one run of the plenary binary in a container.
type invocation struct {
	pod       podTemplate
	container corev1.Container
	// sub is the subcommand: ["serve"], ["loadtest"], ["loadtest", "merge"].
	sub []string
	// args are the words after the subcommand.
	args []string
}

// where names the invocation in messages.
func (iv invocation) where() string {
	return iv.pod.owner.id() + " container " + iv.container.Name + " (plenary " + strings.Join(iv.sub, " ") + ")"
}

// shells are the interpreters whose scripts are searched for plenary runs.
var shells = []string{"sh", "bash"}

// isPlenaryImage reports whether image is the Plenary image.
func isPlenaryImage(image string) bool {
	name, _, _ := strings.Cut(image, ":")
	return name == "plenary" || strings.HasSuffix(name, "/plenary")
}

// invocations finds every plenary run in the pod templates of objs: a
// container whose command is plenary (or the Plenary image's entrypoint),
// or a shell script that calls plenary.
func invocations(t testing.TB, objs []object) []invocation {
	t.Helper()
	var out []invocation
	for _, p := range podTemplates(t, objs) {
		for _, c := range p.containers() {
			argv := append(append([]string{}, c.Command...), c.Args...)
			// Without a command the image's entrypoint (plenary) runs.
			if len(c.Command) == 0 && isPlenaryImage(c.Image) {
				argv = append([]string{"plenary"}, c.Args...)
			}
			if len(argv) == 0 {
				continue
			}
			var words []string
			switch base := filepath.Base(argv[0]); {
			case base == "plenary":
				words = argv[1:]
			case slices.Contains(shells, base):
				// sh -c SCRIPT: the words after "plenary" in the script. Quotes
				// are not interpreted; the scripts here need none.
				fields := strings.Fields(argv[len(argv)-1])
				for i, f := range fields {
					if filepath.Base(f) == "plenary" {
						words = fields[i+1:]
						break
					}
				}
				if words == nil {
					continue
				}
			default:
				continue
			}
			iv := invocation{pod: p, container: c}
			// The first word is the subcommand; "loadtest merge" is two.
			if len(words) > 0 && !strings.HasPrefix(words[0], "-") {
				iv.sub, words = []string{words[0]}, words[1:]
				if iv.sub[0] == "loadtest" && len(words) > 0 && words[0] == "merge" {
					iv.sub, words = []string{"loadtest", "merge"}, words[1:]
				}
			}
			iv.args = words
			out = append(out, iv)
		}
	}
	return out
}

// parseFlags splits words into flag values (by name) and positional
// arguments, using h to know which flags take a value. Unknown flags are
// returned in unknown.
func parseFlags(words []string, h helpText) (vals map[string]string, pos, unknown []string) {
	vals = map[string]string{}
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "--" {
			return vals, append(pos, words[i+1:]...), unknown
		}
		if !strings.HasPrefix(w, "-") || w == "-" {
			pos = append(pos, w)
			continue
		}
		// -name, --name, --name=value, --name value (Go's flag package).
		name, val, inline := strings.Cut(strings.TrimLeft(w, "-"), "=")
		fi, ok := h.Flags[name]
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		if fi.Value && !inline && i+1 < len(words) {
			i++
			val = words[i]
		}
		vals[name] = val
	}
	return vals, pos, unknown
}

// serveConfig is the effective value of every serve flag in a container:
// the help's default, then PLENARY_* variables (envFrom ConfigMaps in order,
// then env), then the arguments. Values from Secrets read "<secret>".
func serveConfig(t testing.TB, iv invocation, objs []object, h helpText) map[string]string {
	t.Helper()
	cfg := map[string]string{}
	for n, f := range h.Flags {
		cfg[n] = f.Default
	}
	// setEnv applies PLENARY_<FLAG>, as internal/config does.
	setEnv := func(name, v string) {
		if f, ok := strings.CutPrefix(name, "PLENARY_"); ok {
			cfg[strings.ReplaceAll(strings.ToLower(f), "_", "-")] = v
		}
	}
	for _, ef := range iv.container.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		if o, ok := find(objs, "ConfigMap", ef.ConfigMapRef.Name); ok {
			data, _ := dig(o.Map, "data").(map[string]any)
			for k, v := range data {
				setEnv(ef.Prefix+k, v.(string))
			}
		}
	}
	for _, e := range iv.container.Env {
		v := e.Value
		if e.ValueFrom != nil {
			v = "<secret>"
		}
		setEnv(e.Name, v)
	}
	vals, _, _ := parseFlags(iv.args, h)
	for k, v := range vals {
		cfg[k] = v
	}
	return cfg
}

// TestContainerFlags checks every flag of every plenary run against the
// help of its subcommand, as the binary prints it today.
func TestContainerFlags(t *testing.T) {
	for k, objs := range allRendered(t) {
		for _, iv := range invocations(t, objs) {
			t.Run(k+"/"+iv.pod.owner.Name+"/"+strings.Join(iv.sub, "-"), func(t *testing.T) {
				if len(iv.sub) == 0 {
					t.Fatalf("%s: no subcommand", iv.where())
				}
				h := help(t, iv.sub...)
				if !h.Exists {
					if iv.sub[0] == "serve" {
						t.Fatalf("plenary has no serve subcommand")
					}
					t.Fatalf("plenary %s does not exist: %s runs it with %s",
						strings.Join(iv.sub, " "), iv.where(), strings.Join(iv.args, " "))
				}
				vals, pos, unknown := parseFlags(iv.args, h)
				for _, u := range unknown {
					t.Errorf("%s: --%s is not a flag of plenary %s", iv.where(), u, strings.Join(iv.sub, " "))
				}
				for n, v := range vals {
					if h.Flags[n].Value && v == "" {
						t.Errorf("%s: --%s has no value", iv.where(), n)
					}
				}
				if iv.sub[0] == "serve" && len(pos) > 0 {
					t.Errorf("%s: unexpected arguments %q", iv.where(), pos)
				}
			})
		}
	}
}

// plenaryEnvRE matches a Plenary environment variable.
var plenaryEnvRE = regexp.MustCompile(`\bPLENARY_[A-Z0-9_]+\b`)

// TestEnvVarsAreFlags checks that every PLENARY_* name in the manifests and
// in docs/operations.md is the variable of a flag: of plenary serve, or of
// plenary loadtest for the load-test kustomizations (checked once that
// subcommand exists).
func TestEnvVarsAreFlags(t *testing.T) {
	check := func(where, text string, h helpText, cmd string) {
		for _, v := range plenaryEnvRE.FindAllString(text, -1) {
			flag := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(v, "PLENARY_")), "_", "-")
			if _, ok := h.Flags[flag]; !ok {
				t.Errorf("%s: %s is not the variable of a flag of plenary %s (no --%s)", where, v, cmd, flag)
			}
		}
	}
	for k, objs := range allRendered(t) {
		cmd := "serve"
		if strings.HasPrefix(k, "loadtest") {
			cmd = "loadtest"
		}
		h := help(t, cmd)
		for _, o := range objs {
			if !h.Exists {
				if plenaryEnvRE.Match(o.YAML) {
					t.Errorf("%s %s sets PLENARY_* variables for plenary %s, which does not exist yet", k, o.id(), cmd)
				}
				continue
			}
			check(k+" "+o.id(), string(o.YAML), h, cmd)
		}
	}
	doc, err := os.ReadFile(filepath.Join(repoDir(t), "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	check("docs/operations.md", string(doc), help(t, "serve"), "serve")
}

// configKeyRE finds YAML keys a script writes into a --config file.
var configKeyRE = regexp.MustCompile(`echo "([a-z][a-z0-9_]*):`)

// TestConfigFileKeys checks the keys init containers write into the config
// file read with --config (PLENARY_CONFIG): each is a serve flag with '_'.
func TestConfigFileKeys(t *testing.T) {
	h := help(t, "serve")
	n := 0
	for k, objs := range allRendered(t) {
		for _, p := range podTemplates(t, objs) {
			for _, c := range p.tmpl.Spec.InitContainers {
				for _, a := range append(append([]string{}, c.Command...), c.Args...) {
					for _, m := range configKeyRE.FindAllStringSubmatch(a, -1) {
						n++
						if _, ok := h.Flags[strings.ReplaceAll(m[1], "_", "-")]; !ok {
							t.Errorf("%s %s init container %s writes config key %q, which is no serve flag", k, p.owner.id(), c.Name, m[1])
						}
					}
				}
			}
		}
	}
	if n == 0 {
		t.Error("no init container writes a config file any more; drop this test or fix its pattern")
	}
}

// serveRuns returns the `plenary serve` runs of the deployable overlays.
func serveRuns(t testing.TB) map[string][]invocation {
	t.Helper()
	out := map[string][]invocation{}
	for _, k := range []string{"overlays/single-region", "overlays/multi-region"} {
		for _, iv := range invocations(t, rendered(t, k)) {
			if len(iv.sub) == 1 && iv.sub[0] == "serve" {
				out[k] = append(out[k], iv)
			}
		}
	}
	return out
}

// rolesOf returns the roles a serve run has; an empty --roles is all of
// them, as the help lists them ("...: sfu,signaling,...").
func rolesOf(t testing.TB, cfg map[string]string, h helpText) (roles, known []string) {
	t.Helper()
	usage := h.Flags["roles"].Usage
	_, list, ok := strings.Cut(usage, ": ")
	if !ok {
		t.Fatalf("cannot find the role list in the help of --roles: %q", usage)
	}
	list, _, _ = strings.Cut(list, " ")
	known = strings.Split(list, ",")
	if cfg["roles"] == "" {
		return known, known
	}
	return strings.Split(cfg["roles"], ","), known
}

// TestRoles checks that every --roles names roles the binary knows.
func TestRoles(t *testing.T) {
	h := help(t, "serve")
	for k, runs := range serveRuns(t) {
		for _, iv := range runs {
			roles, known := rolesOf(t, serveConfig(t, iv, rendered(t, k), h), h)
			for _, r := range roles {
				if !slices.Contains(known, r) {
					t.Errorf("%s %s: unknown role %q (plenary knows %v)", k, iv.where(), r, known)
				}
			}
		}
	}
}

// TestPortsMatchFlags checks that each container port is the value of a
// flag of its process: --listen for http, --sfu-udp-port and
// --sfu-tcp-port for SFU media; that those ports are all declared; and that
// --listen binds all interfaces, since a pod is reached from outside it.
func TestPortsMatchFlags(t *testing.T) {
	h := help(t, "serve")
	for k, runs := range serveRuns(t) {
		for _, iv := range runs {
			cfg := serveConfig(t, iv, rendered(t, k), h)
			host, port, err := net.SplitHostPort(cfg["listen"])
			if err != nil {
				t.Errorf("%s %s: --listen %q: %v", k, iv.where(), cfg["listen"], err)
				continue
			}
			if host != "" && host != "0.0.0.0" && host != "::" {
				t.Errorf("%s %s: --listen %s binds %s only; pods must listen on all interfaces", k, iv.where(), cfg["listen"], host)
			}
			// The ports this process binds, as "port/PROTO".
			want := map[string]corev1.Protocol{port + "/TCP": corev1.ProtocolTCP}
			names := map[string]string{port + "/TCP": "http"}
			roles, _ := rolesOf(t, cfg, h)
			if slices.Contains(roles, "sfu") {
				want[cfg["sfu-udp-port"]+"/UDP"] = corev1.ProtocolUDP
				if cfg["sfu-tcp-port"] != "-1" {
					want[cfg["sfu-tcp-port"]+"/TCP"] = corev1.ProtocolTCP
				}
			}
			got := map[string]bool{}
			for _, cp := range iv.container.Ports {
				proto := cp.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				key := strconv.Itoa(int(cp.ContainerPort)) + "/" + string(proto)
				got[key] = true
				if _, ok := want[key]; !ok {
					t.Errorf("%s %s: port %s (%s) is no flag value of this process (expected %v)", k, iv.where(), key, cp.Name, keys(want))
				}
				if n, ok := names[key]; ok && cp.Name != n {
					t.Errorf("%s %s: port %s is named %q; probes and monitors expect %q", k, iv.where(), key, cp.Name, n)
				}
				if iv.pod.tmpl.Spec.HostNetwork && cp.HostPort != cp.ContainerPort {
					t.Errorf("%s %s: host network needs hostPort = containerPort for %s", k, iv.where(), key)
				}
			}
			for key := range want {
				if !got[key] {
					t.Errorf("%s %s: the process listens on %s but the container does not declare it", k, iv.where(), key)
				}
			}
		}
	}
}

// keys returns the sorted keys of m.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestDrainTiming checks that Kubernetes waits for the drain: the grace
// period covers the preStop pause plus --drain-timeout plus 10 s to exit,
// and is not much longer (at most 60 s more), so the three stay matched.
func TestDrainTiming(t *testing.T) {
	h := help(t, "serve")
	for k, runs := range serveRuns(t) {
		for _, iv := range runs {
			cfg := serveConfig(t, iv, rendered(t, k), h)
			drain, err := time.ParseDuration(cfg["drain-timeout"])
			if err != nil {
				t.Errorf("%s %s: --drain-timeout %q: %v", k, iv.where(), cfg["drain-timeout"], err)
				continue
			}
			var pause time.Duration
			if ls := iv.container.Lifecycle; ls != nil && ls.PreStop != nil {
				if ls.PreStop.Sleep == nil {
					t.Errorf("%s %s: preStop should be a sleep (the process drains on SIGTERM)", k, iv.where())
				} else {
					pause = time.Duration(ls.PreStop.Sleep.Seconds) * time.Second
				}
			} else {
				t.Errorf("%s %s: no preStop pause: endpoints may still send traffic after SIGTERM", k, iv.where())
			}
			grace := 30 * time.Second
			if g := iv.pod.tmpl.Spec.TerminationGracePeriodSeconds; g != nil {
				grace = time.Duration(*g) * time.Second
			}
			need := pause + drain + 10*time.Second
			if grace < need || grace > need+60*time.Second {
				t.Errorf("%s %s: terminationGracePeriodSeconds %v, want between %v and %v (preStop %v + drain %v + 10s)",
					k, iv.where(), grace, need, need+60*time.Second, pause, drain)
			}
		}
	}
}

// TestProbes checks that every serve process is probed on its own health
// endpoints: readiness /readyz (503 while draining), liveness /healthz.
func TestProbes(t *testing.T) {
	for k, runs := range serveRuns(t) {
		for _, iv := range runs {
			c := iv.container
			for _, pr := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
				if pr.probe == nil || pr.probe.HTTPGet == nil {
					t.Errorf("%s %s: no HTTP %s probe", k, iv.where(), pr.name)
					continue
				}
				if pr.probe.HTTPGet.Path != pr.path || pr.probe.HTTPGet.Port.String() != "http" {
					t.Errorf("%s %s: %s probe %s on %s, want %s on http", k, iv.where(), pr.name,
						pr.probe.HTTPGet.Path, pr.probe.HTTPGet.Port.String(), pr.path)
				}
			}
		}
	}
}

// varRefRE matches a $(VAR) reference Kubernetes expands; $$ escapes it.
var varRefRE = regexp.MustCompile(`\$?\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// TestEnvReferences checks $(VAR) references: Kubernetes leaves a reference
// to an undefined variable as is (silently), and an env value may only use
// variables defined before it.
func TestEnvReferences(t *testing.T) {
	for k, objs := range allRendered(t) {
		for _, p := range podTemplates(t, objs) {
			for _, c := range p.containers() {
				// Env values see only earlier variables; command and args see
				// all of them.
				defined := map[string]bool{}
				all := map[string]bool{}
				for _, e := range c.Env {
					all[e.Name] = true
				}
				check := func(where, s string, known map[string]bool) {
					for _, m := range varRefRE.FindAllStringSubmatch(s, -1) {
						if strings.HasPrefix(m[0], "$$") {
							continue
						}
						if !known[m[1]] {
							t.Errorf("%s %s container %s: %s uses $(%s), not defined before it", k, p.owner.id(), c.Name, where, m[1])
						}
					}
				}
				for _, e := range c.Env {
					check("env "+e.Name, e.Value, defined)
					defined[e.Name] = true
				}
				for _, a := range append(append([]string{}, c.Command...), c.Args...) {
					check("argument "+a, a, all)
				}
			}
		}
	}
}

// TestHostNetwork checks what a host-network pod needs: cluster DNS
// (ClusterFirstWithHostNet) and one pod per node.
func TestHostNetwork(t *testing.T) {
	for k, objs := range allRendered(t) {
		for _, p := range podTemplates(t, objs) {
			spec := p.tmpl.Spec
			if !spec.HostNetwork {
				continue
			}
			if spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
				t.Errorf("%s %s: host network with dnsPolicy %q cannot resolve cluster Services", k, p.owner.id(), spec.DNSPolicy)
			}
			if p.owner.Kind != "DaemonSet" && (spec.Affinity == nil || spec.Affinity.PodAntiAffinity == nil ||
				len(spec.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0) {
				t.Errorf("%s %s: host network without required pod anti-affinity (two pods would share the node's ports)", k, p.owner.id())
			}
		}
	}
}
