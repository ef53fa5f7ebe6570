package k8stest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// flagInfo is one flag as `plenary <cmd> --help` prints it.
type flagInfo struct {
	// Value reports whether the flag takes a value (bool flags do not).
	Value bool
	// Default is the default the help shows, "" when none is shown.
	Default string
	// Usage is the flag's help text.
	Usage string
}

// helpText is the parsed help of one subcommand.
type helpText struct {
	// Exists is false when the binary does not know the subcommand.
	Exists bool
	Flags  map[string]flagInfo
}

var (
	binOnce sync.Once
	binPath string
	binDir  string // removed by TestMain
	binErr  error

	helpMu    sync.Mutex
	helpCache = map[string]helpText{}
)

// binEnv names a prebuilt plenary binary to use instead of building one
// (e.g. bin/plenary after `make build`).
const binEnv = "K8STEST_PLENARY_BIN"

// plenaryBinary builds cmd/plenary once per test binary, unless binEnv names
// one. The go command puts its own bin directory first in PATH for tests.
func plenaryBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv(binEnv); p != "" {
			binPath = p
			touchSources(t)
			return
		}
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = err
			return
		}
		dir, err := os.MkdirTemp("", "k8stest-plenary-")
		if err != nil {
			binErr = err
			return
		}
		binDir = dir
		binPath = filepath.Join(dir, "plenary")
		cmd := exec.Command(goTool, "build", "-o", binPath, "./cmd/plenary")
		cmd.Dir = repoDir(t)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			binErr = &buildError{err: err, out: out.String()}
		}
		touchSources(t)
	})
	if binErr != nil {
		t.Fatalf("build ./cmd/plenary: %v", binErr)
	}
	return binPath
}

// buildError carries the compiler's output.
type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// touchSources reads the sources that define the flags, so that `go test`'s
// result cache notices when they change (it tracks files a test opens).
func touchSources(t testing.TB) {
	for _, dir := range []string{"cmd/plenary", "internal/config", "loadtest"} {
		files, _ := filepath.Glob(filepath.Join(repoDir(t), dir, "*.go"))
		for _, f := range files {
			_, _ = os.ReadFile(f)
		}
	}
}

// flagLine matches the first line of a flag in flag.PrintDefaults output.
var flagLine = regexp.MustCompile(`^  -([a-zA-Z0-9][a-zA-Z0-9-]*)(?: (\S+))?$`)

// defaultRE finds the default in a usage line: (default "x") or (default x).
var defaultRE = regexp.MustCompile(`\(default (?:"([^"]*)"|([^\s)]+))\)$`)

// help runs `plenary <args...> --help` and parses its flags. A subcommand
// the binary does not know yields Exists false.
func help(t testing.TB, args ...string) helpText {
	t.Helper()
	key := strings.Join(args, " ")
	helpMu.Lock()
	defer helpMu.Unlock()
	if h, ok := helpCache[key]; ok {
		return h
	}
	cmd := exec.Command(plenaryBinary(t), append(slices.Clone(args), "--help")...)
	out, _ := cmd.CombinedOutput() // --help may exit non-zero; the text is what counts
	h := parseHelp(string(out))
	if strings.Contains(string(out), "unknown command") {
		h.Exists = false
	}
	helpCache[key] = h
	return h
}

// parseHelp parses flag.PrintDefaults output.
func parseHelp(out string) helpText {
	h := helpText{Exists: true, Flags: map[string]flagInfo{}}
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		m := flagLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		fi := flagInfo{Value: m[2] != ""}
		if i+1 < len(lines) {
			fi.Usage = strings.TrimSpace(lines[i+1])
			if d := defaultRE.FindStringSubmatch(fi.Usage); d != nil {
				fi.Default = d[1] + d[2]
			}
		}
		h.Flags[m[1]] = fi
	}
	return h
}

// TestParseHelp pins the help format the other tests rely on.
func TestParseHelp(t *testing.T) {
	out := "Flags:\n  -demo\n    \tcreate the demo\n  -listen string\n    \tHTTP address (default \"127.0.0.1:8080\")\n" +
		"  -sfu-udp-port int\n    \tUDP port; 0 = any (default 7882)\n  -roles value\n    \troles: a,b (default: all)\n"
	h := parseHelp(out)
	want := map[string]flagInfo{
		"demo":         {Value: false, Usage: "create the demo"},
		"listen":       {Value: true, Default: "127.0.0.1:8080", Usage: `HTTP address (default "127.0.0.1:8080")`},
		"sfu-udp-port": {Value: true, Default: "7882", Usage: "UDP port; 0 = any (default 7882)"},
		"roles":        {Value: true, Usage: "roles: a,b (default: all)"},
	}
	if len(h.Flags) != len(want) {
		t.Fatalf("parsed %v", h.Flags)
	}
	for n, w := range want {
		if h.Flags[n] != w {
			t.Errorf("%s: got %+v, want %+v", n, h.Flags[n], w)
		}
	}
}

// TestServeHelp makes sure the binary's serve help parses into the flags
// the manifests depend on most.
func TestServeHelp(t *testing.T) {
	h := help(t, "serve")
	for _, f := range []string{"roles", "listen", "drain-timeout", "config"} {
		if _, ok := h.Flags[f]; !ok {
			t.Errorf("plenary serve --help has no -%s (parsed %d flags)", f, len(h.Flags))
		}
	}
}
