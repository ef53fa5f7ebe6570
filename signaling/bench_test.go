package signaling_test

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/signalingtest"
)

// The join benchmark runs the gateway in a child process (this test binary
// re-executed with benchServerEnv set), so that the server's memory per
// connection is measured without the clients' memory.
const (
	benchServerEnv = "SIGNALING_BENCH_SERVER"
	benchKeyEnv    = "SIGNALING_BENCH_KEY"
	benchConns     = 1000
)

func TestMain(m *testing.M) {
	if os.Getenv(benchServerEnv) == "1" {
		if err := runBenchServer(); err != nil {
			fmt.Fprintln(os.Stderr, "bench server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// heapStats is what the child reports after a full GC.
type heapStats struct {
	HeapInuse  uint64 `json:"heap_inuse"`
	StackInuse uint64 `json:"stack_inuse"`
	Goroutines int    `json:"goroutines"`
	// CPU is the process's user+system CPU time so far, in microseconds.
	CPU int64 `json:"cpu_us"`
}

// runBenchServer serves a gateway (in-process bus and state, no media) on
// a loopback port, prints the address and runs until stdin closes.
func runBenchServer() error {
	secret, err := hex.DecodeString(os.Getenv(benchKeyEnv))
	if err != nil {
		return err
	}
	keys := signalingtest.StaticKeys{signalingtest.TenantA: {ID: "k1", Secret: secret, Created: time.Now()}}
	b := bus.NewMemoryBus(bus.MemoryConfig{}, nil)
	g, err := signaling.New(signaling.Config{RateLimit: 1000, RateBurst: 1000, SendQueue: 4096, ReplayBuffer: 8192}, signaling.Deps{
		Bus: b, Verifier: auth.NewVerifier(keys, auth.VerifierOptions{}),
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	g.RegisterRoutes(mux)
	mux.HandleFunc("GET /heap", func(w http.ResponseWriter, _ *http.Request) {
		var ru syscall.Rusage // before the GCs below, which are not the gateway's work
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := (ru.Utime.Sec+ru.Stime.Sec)*1e6 + int64(ru.Utime.Usec+ru.Stime.Usec)
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		_ = json.NewEncoder(w).Encode(heapStats{HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse,
			Goroutines: runtime.NumGoroutine(), CPU: cpu})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("LISTEN %s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = g.Close()
	return srv.Close()
}

// benchServer starts the child and returns its address.
func benchServer(b *testing.B, secret []byte) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1", benchKeyEnv+"="+hex.EncodeToString(secret))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTEN ") {
		b.Fatalf("bench server did not start: %q %v", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "LISTEN "))
}

// readHeap asks the child for its heap after a GC.
func readHeap(b *testing.B, addr string) heapStats {
	b.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+addr+"/heap", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var h heapStats
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkJoin1000 opens 1,000 WebSockets at once and joins them to one
// room (no media), measuring each join from the start of the WebSocket
// dial to the join reply, then the gateway's memory per idle connection.
//
//	go test -run '^$' -bench Join1000 -benchtime 1x ./signaling/
func BenchmarkJoin1000(b *testing.B) {
	e := signalingtest.NewEnv(b)
	addr := benchServer(b, e.Keys[signalingtest.TenantA].Secret)
	url := "ws://" + addr + signaling.DefaultPath
	toks := make([]string, benchConns)
	for i := range toks {
		toks[i] = e.Token(b, tenant.ID("alpha"), fmt.Sprintf("bot-%04d", i), auth.RoleAttendee)
	}
	base := readHeap(b, addr)
	var p50, p99, perConn, perConnAcked, gPerConn, cpuPerJoin float64
	for b.Loop() {
		lat := make([]time.Duration, benchConns)
		clients := make([]*client.Client, benchConns)
		var wg sync.WaitGroup
		start := make(chan struct{})
		cpu0 := readHeap(b, addr).CPU
		for i := range benchConns {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				<-start
				t0 := time.Now()
				c, err := client.Dial(ctx, url, toks[i], client.Options{EventBuffer: 2 * benchConns})
				if err != nil {
					b.Error(err)
					return
				}
				f := false
				if _, err := c.Join(ctx, "bench", client.JoinOptions{Media: &f}); err != nil {
					b.Error(err)
				}
				lat[i] = time.Since(t0)
				clients[i] = c
			})
		}
		close(start)
		wg.Wait()
		// Let the presence fan-out of the join storm finish, then measure.
		time.Sleep(2 * time.Second)
		idle := readHeap(b, addr)
		cpuPerJoin = float64(idle.CPU-cpu0) / benchConns
		for _, c := range clients {
			if c != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, _ = c.Ack(ctx)
				cancel()
			}
		}
		acked := readHeap(b, addr)
		slices.Sort(lat)
		p50 = float64(lat[benchConns/2].Microseconds()) / 1000
		p99 = float64(lat[benchConns*99/100].Microseconds()) / 1000
		perConn = float64(idle.HeapInuse+idle.StackInuse-base.HeapInuse-base.StackInuse) / benchConns
		perConnAcked = float64(acked.HeapInuse+acked.StackInuse-base.HeapInuse-base.StackInuse) / benchConns
		gPerConn = float64(acked.Goroutines-base.Goroutines) / benchConns
		for _, c := range clients {
			if c != nil {
				_ = c.Close()
			}
		}
	}
	b.ReportMetric(p50, "p50-join-ms")
	b.ReportMetric(p99, "p99-join-ms")
	b.ReportMetric(perConn, "server-B/conn-after-storm")
	b.ReportMetric(perConnAcked, "server-B/idle-conn")
	b.ReportMetric(gPerConn, "goroutines/conn")
	b.ReportMetric(cpuPerJoin, "server-cpu-us/join")
}
