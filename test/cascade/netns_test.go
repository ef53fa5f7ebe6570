package cascade_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// oneWayDelay is half the one-way delay between two regions (kept from
// the tc netem layout, where each end of a link delayed by this much).
const oneWayDelay = 20 * time.Millisecond

// cluster is the namespaces, bridge, Redis and SFU node processes of one
// test run.
type cluster struct {
	t      *testing.T
	id     string // unique per run, in every name
	subnet string // "10.X.Y"
	redis  string // redis://addr/0
	prefix string
	dir    string

	regions []*region
	procs   []*exec.Cmd
	// exits holds, per started process, a channel closed once Wait
	// returned, and its result (exited): one Wait per process, whoever
	// waits first.
	exitsMu sync.Mutex
	exits   map[*exec.Cmd]*procExit
	wan     *wan
	coreIf  string
}

// region is one namespace with one SFU node.
type region struct {
	name   string // the node's name in files and namespaces, e.g. "a1"
	region string // its region, e.g. "a"
	ns     string
	nsIf   string // TUN device in the namespace
	port   *wanPort
	ip     string
	node   string // node ID
	url    string // http://ip:8080
	data   string
	tokens map[string]string // user → token
	cmd    *exec.Cmd         // the node process
}

// cpu returns the CPU time the region's node process has used so far
// (user + system, from /proc/<pid>/stat, 100 ticks a second).
func (r *region) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procExit is the outcome of one process's Wait.
type procExit struct {
	done chan struct{}
	err  error
}

// exited waits for cmd in the background (once) and returns its outcome;
// receive from done before reading err.
func (c *cluster) exited(cmd *exec.Cmd) *procExit {
	c.exitsMu.Lock()
	defer c.exitsMu.Unlock()
	if c.exits == nil {
		c.exits = map[*exec.Cmd]*procExit{}
	}
	if e := c.exits[cmd]; e != nil {
		return e
	}
	e := &procExit{done: make(chan struct{})}
	c.exits[cmd] = e
	go func() { e.err = cmd.Wait(); close(e.done) }()
	return e
}

// run runs a command and fails the test with its output on error.
func (c *cluster) run(name string, args ...string) {
	c.t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// requireNetns skips (fails under CI=true) when namespaces cannot be made.
func requireNetns(t *testing.T) {
	t.Helper()
	why := ""
	switch {
	case os.Geteuid() != 0:
		why = "network namespaces need root"
	default:
		if _, err := exec.LookPath("ip"); err != nil {
			why = "iproute2 (ip) not installed"
		} else if _, err := os.Stat("/dev/net/tun"); err != nil {
			why = "no /dev/net/tun"
		} else if _, err := exec.LookPath("redis-server"); err != nil {
			why = "redis-server not installed"
		} else if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
			why = fmt.Sprintf("ip netns unavailable: %v %s", err, out)
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", why)
	}
	t.Skipf("skipping the multi-region relay tests: %s (run as root with iproute2, tc and redis-server)", why)
}

// newCluster builds one namespace and SFU node per name: "a" is node "a1"
// alone in region a, "b/b2" is node "b2" in region b (nodes of one region
// are not delayed between them).
func newCluster(t *testing.T, names ...string) *cluster {
	t.Helper()
	requireNetns(t)
	var b [3]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	c := &cluster{t: t, id: id, subnet: fmt.Sprintf("10.%d.%d", 200+int(b[0])%50, b[1]),
		prefix: "cascade-" + id, dir: t.TempDir(), wan: newWAN(oneWayDelay * 2)}
	t.Cleanup(c.teardown)

	// The core port: this process's namespace, where Redis listens and
	// from where the test probes the nodes' HTTP.
	c.coreIf = "cw" + id
	c.addPort("", c.coreIf, c.subnet+".2", "")
	for _, spec := range names {
		c.addRegion(spec)
	}
	c.startRedis()
	for _, r := range c.regions {
		c.prepareNode(r)
	}
	for _, r := range c.regions {
		c.startNode(r)
	}
	for _, r := range c.regions {
		c.waitReady(r)
	}
	return c
}

// addRegion makes the namespace of the node named by spec ("a" is node
// "a1" in region a, "b/b2" node "b2" in region b) and joins it to the WAN.
func (c *cluster) addRegion(spec string) *region {
	c.t.Helper()
	label, node, ok := strings.Cut(spec, "/")
	if !ok {
		node = label + "1"
	}
	r := &region{name: node, region: label, ns: "cas-" + c.id + "-" + node, nsIf: "wan0",
		ip: fmt.Sprintf("%s.%d", c.subnet, 10+len(c.regions)), node: node, tokens: map[string]string{}}
	r.url = "http://" + r.ip + ":8080"
	c.regions = append(c.regions, r)
	c.run("ip", "netns", "add", r.ns)
	c.run("ip", "netns", "exec", r.ns, "ip", "link", "set", "lo", "up")
	r.port = c.addPort("/run/netns/"+r.ns, r.nsIf, r.ip, label)
	return r
}

// addNode adds and starts one more node (spec as for addRegion) in a
// running cluster.
func (c *cluster) addNode(spec string) *region {
	c.t.Helper()
	r := c.addRegion(spec)
	c.prepareNode(r)
	c.startNode(r)
	c.waitReady(r)
	return r
}

// addPort creates a TUN device in the namespace at nsPath ("" = ours),
// gives it ip on the cluster's /24 and attaches it to the WAN as a port of
// region ("" = the core).
func (c *cluster) addPort(nsPath, name, ip, region string) *wanPort {
	c.t.Helper()
	f, err := openTUN(nsPath, name)
	if err != nil {
		c.t.Fatalf("tun %s: %v", name, err)
	}
	var pre []string
	if nsPath != "" {
		pre = []string{"netns", "exec", filepath.Base(nsPath), "ip"}
	}
	c.run("ip", append(pre, "addr", "add", ip+"/24", "dev", name)...)
	c.run("ip", append(pre, "link", "set", name, "up")...)
	return c.wan.attach(name, netip.MustParseAddr(ip), f, region)
}

// setLoss makes region r drop pct% of the packets it sends to other
// regions (0 restores a clean link).
func (c *cluster) setLoss(r *region, pct float64) { r.port.setLoss(pct / 100) }

// startRedis runs a private redis-server on the bridge address.
func (c *cluster) startRedis() {
	c.t.Helper()
	port := 16000 + int(c.id[0])%8*100 + int(c.id[1])%100
	addr := fmt.Sprintf("%s.2:%d", c.subnet, port)
	cmd := exec.Command("redis-server", "--bind", c.subnet+".2", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--protected-mode", "no", "--dir", c.dir)
	c.start(cmd, "redis")
	c.redis = "redis://" + addr + "/0"
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.Command("redis-cli", "-h", c.subnet+".2", "-p", strconv.Itoa(port), "ping").CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) == "PONG" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redis on %s did not answer: %v %s", addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cli runs the plenary binary's CLI in the root namespace.
func (c *cluster) cli(args ...string) string {
	c.t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(plenaryBin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("plenary %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// prepareNode creates the tenant in the node's own store and mints the
// tokens the test clients use (each node verifies tokens against its own
// embedded store).
func (c *cluster) prepareNode(r *region) {
	c.t.Helper()
	r.data = filepath.Join(c.dir, r.name)
	c.cli("tenant", "create", "--id", "acme", "--name", "Acme", "--data-dir", r.data)
	r.tokens["speaker"] = c.cli("token", "--tenant", "acme", "--user", "speaker-"+r.name, "--role", "speaker", "--room", room, "--ttl", "2h", "--data-dir", r.data)
	r.tokens["viewer"] = c.cli("token", "--tenant", "acme", "--user", "viewer-"+r.name, "--role", "attendee", "--room", room, "--ttl", "2h", "--data-dir", r.data)
}

// startNode runs `plenary serve --roles sfu` in the region's namespace.
func (c *cluster) startNode(r *region) {
	c.t.Helper()
	cmd := exec.Command("ip", "netns", "exec", r.ns, plenaryBin, "serve", "--roles", "sfu",
		"--listen", r.ip+":8080", "--data-dir", r.data, "--redis-url", c.redis, "--prefix", c.prefix,
		"--region", r.region, "--node-id", r.node, "--sfu-bind-ip", r.ip, "--sfu-udp-port", "7882", "--sfu-tcp-port", "-1",
		"--drain-timeout", "30s", "--log-level", "info")
	c.start(cmd, "node-"+r.name)
	r.cmd = cmd
}

// start starts cmd in its own process group with output in a log file.
func (c *cluster) start(cmd *exec.Cmd, name string) {
	c.t.Helper()
	f, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", name, err)
	}
	c.procs = append(c.procs, cmd)
}

// waitReady polls the node's /readyz.
func (c *cluster) waitReady(r *region) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("node %s not ready: %v", r.node, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metric sums the samples of name whose labels include all of labels, from
// the node's /metrics.
func (c *cluster) metric(r *region, name string, labels map[string]string) float64 {
	c.t.Helper()
	resp, err := http.Get(r.url + "/metrics")
	if err != nil {
		c.t.Fatalf("scrape %s: %v", r.node, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(line, k+`="`+v+`"`) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

// dumpLogs prints the tail of every process log.
func (c *cluster) dumpLogs() {
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		b, _ := os.ReadFile(filepath.Join(c.dir, e.Name()))
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		c.t.Logf("--- %s ---\n%s", e.Name(), b)
	}
}

// teardown stops every process and removes namespaces and links, also
// after a failure.
func (c *cluster) teardown() {
	if c.t.Failed() || os.Getenv("CASCADE_LOGS") != "" {
		c.dumpLogs()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		if p.Process == nil {
			continue
		}
		_ = syscall.Kill(-p.Process.Pid, syscall.SIGTERM)
		e := c.exited(p)
		select {
		case <-e.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			<-e.done
		}
	}
	if c.wan != nil {
		c.wan.close() // closing the TUN files removes the devices
	}
	for _, r := range c.regions {
		_ = exec.Command("ip", "netns", "del", r.ns).Run()
	}
}

// helper runs the test binary in helper mode inside r's namespace and
// returns its decoded JSON result.
func (c *cluster) helper(ctx context.Context, r *region, name string, env map[string]string) (*exec.Cmd, func() ([]byte, error)) {
	c.t.Helper()
	self, err := os.Executable()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", r.ns, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	logf, err := os.Create(filepath.Join(c.dir, "helper-"+name+"-"+r.name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start helper %s: %v", name, err)
	}
	c.procs = append(c.procs, cmd)
	wait := func() ([]byte, error) {
		e := c.exited(cmd)
		<-e.done
		err := e.err
		_ = logf.Close()
		return lastLine(out.Bytes()), err
	}
	return cmd, wait
}

// lastLine returns the last non-empty line of b.
func lastLine(b []byte) []byte {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return lines[len(lines)-1]
}
