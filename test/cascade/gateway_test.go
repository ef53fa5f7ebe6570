package cascade_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/client/peer"
)

// The failover tests go the real way: clients talk to the gateway of their
// region (`plenary serve --roles signaling,chat --region X`) over the
// signaling WebSocket, the gateway places them on an SFU node through the
// Redis node registry and drives that node over the bus (sfurpc), and moves
// them (media.moved) when the node drains or dies. The gateways run in the
// core namespace (not delayed by the WAN, like Redis); the clients run in
// the regions' namespaces as the "members" helper, driven line by line
// over stdin/stdout.

// gateway is one signaling gateway process.
type gateway struct {
	region string
	url    string // http://core-ip:port
	data   string
	cmd    *exec.Cmd
}

// ws is the gateway's signaling WebSocket endpoint.
func (g *gateway) ws() string { return "ws" + strings.TrimPrefix(g.url, "http") + "/v1/ws" }

// startGateways runs one gateway per region, all on the store of the first
// (its embedded FerretDB, shared with --mongo-uri), and mints the tokens:
// "speaker" and "viewer-0".."viewer-<viewers-1>", valid on every gateway.
func (c *cluster) startGateways(viewers int, regions ...string) (map[string]*gateway, map[string]string) {
	c.t.Helper()
	first := filepath.Join(c.dir, "gw-"+regions[0])
	c.cli("tenant", "create", "--id", "acme", "--name", "Acme", "--data-dir", first)
	tokens := map[string]string{
		"speaker": c.cli("token", "--tenant", "acme", "--user", "speaker", "--role", "speaker", "--room", room, "--ttl", "2h", "--data-dir", first),
	}
	for i := range viewers {
		u := fmt.Sprintf("viewer-%d", i)
		tokens[u] = c.cli("token", "--tenant", "acme", "--user", u, "--role", "attendee", "--room", room, "--ttl", "2h", "--data-dir", first)
	}
	gws := map[string]*gateway{}
	mongoURI := ""
	for i, region := range regions {
		g := &gateway{region: region, url: fmt.Sprintf("http://%s.2:%d", c.subnet, 8090+i), data: filepath.Join(c.dir, "gw-"+region)}
		args := []string{"serve", "--roles", "signaling,chat", "--region", region,
			"--listen", strings.TrimPrefix(g.url, "http://"), "--data-dir", g.data,
			"--redis-url", c.redis, "--prefix", c.prefix, "--log-level", "info"}
		if mongoURI != "" {
			args = append(args, "--mongo-uri", mongoURI)
		}
		g.cmd = exec.Command(plenaryBin, args...)
		c.start(g.cmd, "gateway-"+region)
		c.waitURL("gateway "+region, g.url+"/readyz")
		if i == 0 {
			b, err := os.ReadFile(filepath.Join(g.data, "mongo.uri"))
			if err != nil {
				c.t.Fatalf("gateway %s: embedded store URI: %v", region, err)
			}
			mongoURI = strings.TrimSpace(string(b))
		}
		gws[region] = g
	}
	return gws, tokens
}

// waitURL polls url until it answers 200.
func (c *cluster) waitURL(what, url string) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			c.t.Fatalf("%s not ready: %v", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// session is a members helper driven over stdin/stdout.
type session struct {
	name  string
	in    io.WriteCloser
	lines chan []byte
	done  chan error
}

// members starts the members helper in r's namespace.
func (c *cluster) members(ctx context.Context, r *region, name string, env map[string]string) *session {
	c.t.Helper()
	self, err := os.Executable()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", r.ns, self, "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=members", "CASCADE_BIND="+r.ip)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logf, err := os.Create(filepath.Join(c.dir, "helper-"+name+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stderr = logf
	in, err := cmd.StdinPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start helper %s: %v", name, err)
	}
	c.procs = append(c.procs, cmd)
	s := &session{name: name, in: in, lines: make(chan []byte, 16), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.lines <- append([]byte(nil), sc.Bytes()...)
		}
		close(s.lines)
		e := c.exited(cmd)
		<-e.done
		s.done <- e.err
		_ = logf.Close()
	}()
	return s
}

// next decodes the helper's next stdout line into v.
func (s *session) next(timeout time.Duration, v any) error {
	select {
	case l, ok := <-s.lines:
		if !ok {
			return fmt.Errorf("helper %s exited: %v (see its log)", s.name, <-s.done)
		}
		if err := json.Unmarshal(l, v); err != nil {
			return fmt.Errorf("helper %s: %q: %w", s.name, l, err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("helper %s: no answer in %v", s.name, timeout)
	}
}

// send writes one command line to the helper.
func (s *session) send(cmd string) error {
	_, err := fmt.Fprintln(s.in, cmd)
	return err
}

// membersReady is the helper's first line: who joined, on which node.
type membersReady struct {
	IDs   []string `json:"ids"`
	Nodes []string `json:"nodes"`
	Error string   `json:"error,omitempty"`
}

// memberResult is one viewer's account of a move, from the "report"
// command: the longest interval without video from the publisher and when
// the packet that ended it arrived (Unix ns, the host clock the test
// shares).
type memberResult struct {
	ID       string `json:"id"`
	Node0    string `json:"node0"` // placed on at join
	Moves    int    `json:"moves"`
	Node     string `json:"node"` // from the last media.moved
	MaxGapNS int64  `json:"max_gap_ns"`
	GapEnd   int64  `json:"gap_end_ns"`
	// GapBeforeNS is the longest gap before the report command.
	GapBeforeNS int64 `json:"gap_before_ns"`
	Packets     int64 `json:"packets"`
	Recovered   bool  `json:"recovered"`
}

// member is one joined participant in the helper.
type member struct {
	c    *client.Client
	j    *client.Joined
	peer *peer.Peer
}

// runMembers joins one participant per token in CASCADE_TOKENS (comma
// separated) through the gateway at CASCADE_WS. With CASCADE_PUBLISH set
// the first publishes VP8 at 30 fps (a keyframe every 2 s and on PLI) and
// Opus. Otherwise they are viewers of CASCADE_FROM (a participant ID) and
// the helper says ready once each has a second of its video. Commands on
// stdin: "report <node> <seconds>" waits (at most <seconds>) until every
// viewer placed on <node> has moved and received 60 more video packets
// (2 s at 30 fps, so some surely from its new node), then prints one
// memberResult per viewer; EOF ends the helper.
func runMembers() error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	api, err := clientAPI(os.Getenv("CASCADE_BIND"))
	if err != nil {
		return err
	}
	publish, from := os.Getenv("CASCADE_PUBLISH") != "", os.Getenv("CASCADE_FROM")
	var ms []*member
	var ready membersReady
	fail := func(err error) error {
		_ = json.NewEncoder(os.Stdout).Encode(membersReady{Error: err.Error()})
		return err
	}
	for _, tok := range strings.Split(os.Getenv("CASCADE_TOKENS"), ",") {
		jctx, jcancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := client.Dial(jctx, os.Getenv("CASCADE_WS"), tok, client.Options{})
		if err != nil {
			jcancel()
			return fail(fmt.Errorf("dial: %w", err))
		}
		defer c.Close()
		j, err := c.Join(jctx, room, client.JoinOptions{})
		jcancel()
		if err != nil {
			return fail(fmt.Errorf("join: %w", err))
		}
		if j.Media == nil {
			return fail(errors.New("joined without media"))
		}
		p, err := peer.New(c, room, api)
		if err != nil {
			return fail(err)
		}
		defer p.Close()
		go func() {
			// After a move, the media events that follow are logged with
			// their time too (the failover tests' timeline).
			var movedAt time.Time
			for {
				select {
				case <-ctx.Done():
					return
				case ev, ok := <-c.Events():
					if !ok {
						return
					}
					if _, err := p.HandleEvent(ctx, ev); err != nil && ctx.Err() == nil {
						fmt.Fprintf(os.Stderr, "%s: %s: %v\n", j.Self.Name, ev.Type, err)
					}
					if strings.HasPrefix(ev.Type, "media.moved") {
						movedAt = time.Now()
					}
					if !movedAt.IsZero() && time.Since(movedAt) < 5*time.Second && ev.Type != "media.ice" {
						data := string(ev.Data)
						if ev.Type == "media.offer" {
							data = fmt.Sprintf("(%d m-lines)", strings.Count(data, "m="))
						}
						fmt.Fprintf(os.Stderr, "%s %s: %s %.120s\n", time.Now().Format("15:04:05.000"), j.Self.Name, ev.Type, data)
					}
				}
			}
		}()
		ms = append(ms, &member{c: c, j: j, peer: p})
		ready.IDs, ready.Nodes = append(ready.IDs, j.Self.ID), append(ready.Nodes, j.Media.Node)
		if publish {
			pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
			err := p.Publish(pctx, peer.PublishOptions{VideoFPS: 30, Audio: true})
			pcancel()
			if err != nil {
				return fail(fmt.Errorf("publish: %w", err))
			}
			break
		}
	}
	if !publish {
		deadline := time.Now().Add(60 * time.Second)
		for _, m := range ms {
			for m.peer.Packets(from, "video") < 30 {
				if time.Now().After(deadline) {
					return fail(fmt.Errorf("%s received %d video packets of %s in 60 s", m.j.Self.Name, m.peer.Packets(from, "video"), from))
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(ready); err != nil {
		return err
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var node string
		var secs int
		if _, err := fmt.Sscanf(sc.Text(), "report %s %d", &node, &secs); err != nil {
			return fmt.Errorf("command %q: %w", sc.Text(), err)
		}
		if err := report(ms, from, node, time.Duration(secs)*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// report waits for the viewers placed on node to move and receive video
// again, then prints every viewer's memberResult as one JSON line.
func report(ms []*member, from, node string, wait time.Duration) error {
	res := make([]memberResult, len(ms))
	base := make([]int64, len(ms))
	for i, m := range ms {
		g, _ := m.peer.MaxGap(from, "video")
		res[i] = memberResult{ID: m.j.Self.ID, Node0: m.j.Media.Node, GapBeforeNS: int64(g)}
		base[i] = m.peer.Packets(from, "video")
	}
	deadline := time.Now().Add(wait)
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				moves, _ := m.peer.Moves()
				if (m.j.Media.Node != node || moves > 0) && m.peer.Packets(from, "video") >= base[i]+60 {
					res[i].Recovered = true
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for i, m := range ms {
		res[i].Moves, res[i].Node = m.peer.Moves()
		g, end := m.peer.MaxGap(from, "video")
		res[i].MaxGapNS, res[i].GapEnd = int64(g), end.UnixNano()
		res[i].Packets = m.peer.Packets(from, "video")
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}
