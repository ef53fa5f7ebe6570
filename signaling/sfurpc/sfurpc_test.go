package sfurpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/noderegistry"
	"github.com/plenaryhq/plenary/internal/testenv"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/mediatest"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	"github.com/plenaryhq/plenary/signaling/sfurpc"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
)

// fast keeps liveness tests short.
var fast = sfurpc.Config{KeepAlive: 100 * time.Millisecond, NodeTimeout: 500 * time.Millisecond, SessionTTL: time.Second, Timeout: 5 * time.Second}

// newSFU starts a real SFU on loopback.
func newSFU(t *testing.T, id string) *sfunode.Node {
	t.Helper()
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
		AllocationInterval: 100 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond}, st.Log())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return sfunode.New(id, s)
}

// serve runs a Server for node on b until the returned stop is called (or
// the test ends).
func serve(t *testing.T, b bus.Bus, node signaling.MediaNode, cfg sfurpc.Config) (srv *sfurpc.Server, stop func()) {
	t.Helper()
	srv, err := sfurpc.NewServer(b, node, cfg, st.Log())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Run(ctx); err != nil {
			t.Errorf("server: %v", err)
		}
	}()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	waitSubscribed(t, b, node.ID())
	return srv, stop
}

// waitSubscribed returns once a ping reaches the node (its subscription is
// live), so tests do not race the server's Subscribe.
func waitSubscribed(t *testing.T, b bus.Bus, node string) {
	t.Helper()
	c := client(t, b, "probe-"+node, fast)
	n := c.Node(node)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		ms, err := n.Join(ctx, "probe", "probe", "probe", signaling.MediaJoinOptions{})
		cancel()
		if err == nil {
			ms.Leave()
			return
		}
		if !errors.Is(err, sfurpc.ErrTimeout) && !errors.Is(err, sfurpc.ErrUnreachable) {
			return // the node answered, with an error
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s never answered", node)
		}
	}
}

func client(t *testing.T, b bus.Bus, id string, cfg sfurpc.Config) *sfurpc.Client {
	t.Helper()
	c, err := sfurpc.NewClient(context.Background(), b, id, cfg, st.Log())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func memoryBus(t *testing.T) bus.Bus {
	b := bus.NewMemoryBus(bus.MemoryConfig{}, st.Log())
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func redisBus(t *testing.T) bus.Bus {
	b, err := bus.NewRedisBus(context.Background(), bus.RedisConfig{URL: testenv.RedisURL(t), Prefix: testenv.UniquePrefix()}, st.Log())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// remoteFactory serves a fresh SFU over b and returns it as a gateway sees it.
func remoteFactory(newBus func(*testing.T) bus.Bus) mediatest.Factory {
	return func(t *testing.T) signaling.MediaNode {
		b := newBus(t)
		serve(t, b, newSFU(t, "node-a"), sfurpc.Config{})
		return client(t, b, "gw-1", sfurpc.Config{}).Node("node-a")
	}
}

func TestConformanceMemoryBus(t *testing.T) { mediatest.Run(t, remoteFactory(memoryBus)) }

func TestConformanceRedisBus(t *testing.T) { mediatest.Run(t, remoteFactory(redisBus)) }

// TestTwoGatewaysOneNode: participants joined through two gateway clients
// share one room on one node.
func TestTwoGatewaysOneNode(t *testing.T) {
	b := redisBus(t)
	serve(t, b, newSFU(t, "node-a"), sfurpc.Config{})
	g1 := client(t, b, "gw-1", sfurpc.Config{}).Node("node-a")
	g2 := client(t, b, "gw-2", sfurpc.Config{}).Node("node-a")
	a := mediatest.Join(t, g1, "acme", "stage", "alice")
	v := mediatest.Join(t, g2, "acme", "stage", "victor")
	a.PublishVP8(t)
	mediatest.Eventually(t, "victor (gateway 2) receives alice's video (gateway 1)", func() bool { return v.Received() > 20 })
}

// TestGatewayDeathExpiresSessions: a gateway that vanishes without leaving
// has its sessions left by the node after the TTL.
func TestGatewayDeathExpiresSessions(t *testing.T) {
	b := memoryBus(t)
	srv, _ := serve(t, b, newSFU(t, "node-a"), fast)
	c, err := sfurpc.NewClient(context.Background(), b, "gw-doomed", fast, st.Log())
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.Node("node-a").Join(context.Background(), "acme", "r", "p1", signaling.MediaJoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = ms
	mediatest.Eventually(t, "session held", func() bool { return srv.Sessions() >= 1 })
	time.Sleep(2 * fast.SessionTTL) // kept alive by pings
	if srv.Sessions() < 1 {
		t.Fatal("a pinged session expired")
	}
	_ = c.Close() // the gateway dies: no leave, no pings
	mediatest.Eventually(t, "node leaves the dead gateway's sessions", func() bool { return srv.Sessions() == 0 })
}

// TestNodeDeathEndsSessions: a node that stops answering has its sessions'
// event streams closed at the gateway (which then re-joins elsewhere), and
// calls fail rather than hanging. A node whose process died is gone from
// the bus (its connection closed): two keep-alive pings that reach nobody
// end its sessions, well before NodeTimeout. A node that hangs while its
// connection stays subscribed is found by NodeTimeout.
func TestNodeDeathEndsSessions(t *testing.T) {
	// patient never gives up on a silent node within the test: only the
	// node's absence from the bus can end its sessions.
	patient := fast
	patient.NodeTimeout = time.Hour
	for _, tc := range []struct {
		name string
		cfg  sfurpc.Config
		hang bool // something keeps the node's channel subscribed, silently
		// min is the earliest the events may close: later than any gone
		// message could arrive.
		min time.Duration
	}{
		{"process exits", patient, false, fast.KeepAlive / 2},
		{"node hangs", fast, true, fast.NodeTimeout / 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, prefix := testenv.RedisURL(t), testenv.UniquePrefix()
			open := func() *bus.RedisBus {
				b, err := bus.NewRedisBus(context.Background(), bus.RedisConfig{URL: url, Prefix: prefix}, st.Log())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = b.Close() })
				return b
			}
			nodeBus, gwBus := open(), open()
			serve(t, nodeBus, newSFU(t, "node-a"), fast)
			if tc.hang {
				ch, err := bus.SystemChannel("sfurpc.node.node-a")
				if err != nil {
					t.Fatal(err)
				}
				sub, err := open().Subscribe(context.Background(), ch)
				if err != nil {
					t.Fatal(err)
				}
				go func() {
					for range sub.C() { // receives every request, answers none
					}
				}()
			}
			c := client(t, gwBus, "gw-1", tc.cfg)
			ms, err := c.Node("node-a").Join(context.Background(), "acme", "r", "p1", signaling.MediaJoinOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The node's process dies: its bus connection goes away with
			// nothing said (no gone message can reach the gateway).
			_ = nodeBus.Close()
			start := time.Now()
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				for range ms.Events() {
				}
			}()
			select {
			case <-closed:
			case <-time.After(30 * time.Second):
				t.Fatalf("events still open 30 s after the node died (keep-alive %v, node timeout %v)", tc.cfg.KeepAlive, tc.cfg.NodeTimeout)
			}
			took := time.Since(start)
			t.Logf("events closed %v after the node died (keep-alive %v, node timeout %v)", took.Round(time.Millisecond), tc.cfg.KeepAlive, tc.cfg.NodeTimeout)
			if took < tc.min {
				t.Fatalf("events closed after %v, before %v: not by the keep-alive (a gone message reached the gateway?)", took, tc.min)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			if err := ms.AddICECandidate(ctx, signaling.TargetPublisher, signaling.ICECandidate{Candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host"}); err == nil {
				t.Fatal("call to a dead node succeeded")
			}
		})
	}
}

// TestNodeRestartForgetsSessions: a node that restarted answers pings with
// the sessions it lost; the gateway ends them at once.
func TestNodeRestartForgetsSessions(t *testing.T) {
	b := memoryBus(t)
	node := newSFU(t, "node-a")
	_, stop := serve(t, b, node, fast)
	c := client(t, b, "gw-1", fast)
	ms, err := c.Node("node-a").Join(context.Background(), "acme", "r", "p1", signaling.MediaJoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	serve(t, b, node, fast) // same node ID, empty session table
	done := make(chan struct{})
	go func() {
		for range ms.Events() {
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("session of a restarted node never ended")
	}
}

// TestSelectorPlacesOnRegistryNodes: the selector picks registry nodes and
// reaches the local one directly.
func TestSelectorPlacesOnRegistryNodes(t *testing.T) {
	b := memoryBus(t)
	reg := noderegistry.NewMemoryRegistry(nil)
	local := newSFU(t, "node-local")
	c := client(t, b, "gw-1", fast)
	sel := &sfurpc.Selector{Registry: reg, Client: c, Local: local, Region: "eu"}
	ctx := context.Background()
	if _, err := sel.Select(ctx, "acme", "r", "p"); !errors.Is(err, signaling.ErrNoMedia) {
		t.Fatalf("empty registry: %v, want ErrNoMedia", err)
	}
	if err := reg.Heartbeat(ctx, noderegistry.Node{ID: "node-us", Region: "us"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err := sel.Select(ctx, "acme", "r", "p")
	if err != nil || n.ID() != "node-us" {
		t.Fatalf("got %v, %v; want node-us (the only node)", n, err)
	}
	if err := reg.Heartbeat(ctx, noderegistry.Node{ID: "node-local", Region: "eu"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err = sel.Select(ctx, "acme", "r", "p")
	if err != nil || n != signaling.MediaNode(local) {
		t.Fatalf("got %v, %v; want the local node of the gateway's region", n, err)
	}
	if err := reg.Heartbeat(ctx, noderegistry.Node{ID: "node-local", Region: "eu", Draining: true}, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err = sel.Select(ctx, "acme", "r", "p")
	if err != nil || n.ID() != "node-us" {
		t.Fatalf("got %v, %v; want node-us once the local node drains", n, err)
	}
	if _, err := sel.SelectAvoiding(ctx, "acme", "r", "p", []string{"node-us"}); !errors.Is(err, signaling.ErrNoMedia) {
		t.Fatalf("avoiding the only usable node: %v, want ErrNoMedia", err)
	}
	// Overloaded: the least-loaded live node still takes media.
	if err := reg.Heartbeat(ctx, noderegistry.Node{ID: "node-us", Region: "us", Load: noderegistry.Load{CPU: 0.97}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err = sel.Select(ctx, "acme", "r", "p")
	if err != nil || n.ID() != "node-us" {
		t.Fatalf("got %v, %v; want the overloaded node-us rather than no media", n, err)
	}
}
