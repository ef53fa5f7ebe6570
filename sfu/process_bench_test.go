package sfu_test

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/internal/benchpeer"
	"github.com/plenaryhq/plenary/sfu/whip"
)

// TestMain lets the test binary act as the benchmark's load client: when
// re-executed with $PLENARY_BENCHPEER set it runs benchpeer instead of the
// tests, in its own process.
func TestMain(m *testing.M) {
	if os.Getenv(benchpeer.EnvConfig) != "" {
		os.Exit(benchpeer.Main())
	}
	os.Exit(m.Run())
}

var benchTenant = tenant.MustParse("bench")

// keyring is a one-tenant auth.KeySource without a store.
type keyring struct{ key auth.Key }

func (k keyring) SigningKey(_ context.Context, t tenant.ID) (auth.Key, error) {
	if t != benchTenant {
		return auth.Key{}, auth.ErrUnknownTenant
	}
	return k.key, nil
}

func (k keyring) VerificationKey(ctx context.Context, t tenant.ID, kid string) (auth.Key, error) {
	key, err := k.SigningKey(ctx, t)
	if err == nil && kid != key.ID {
		err = auth.ErrUnknownKey
	}
	return key, err
}

// loadEnv is an SFU with WHIP/WHEP endpoints and a benchpeer process
// publishing to and subscribing from it.
type loadEnv struct {
	sfu   *sfu.SFU
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *json.Decoder
	subs  int
	close func() // idempotent
}

// cpuTime returns this process's user+system CPU time: the SFU's, since
// the load client is another process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns another process's user+system CPU time from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

func startLoadEnv(tb testing.TB, subs int) *loadEnv {
	tb.Helper()
	secret := make([]byte, auth.SecretSize)
	_, _ = crand.Read(secret)
	keys := keyring{auth.Key{ID: "k1", Secret: secret, Created: time.Now()}}
	cfg := sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1, MeasureLatency: true}
	if v, err := strconv.Atoi(os.Getenv("SFU_BENCH_CHUNK")); err == nil {
		cfg.FanoutChunk = v
	}
	s, err := sfu.New(cfg, nil)
	require.NoError(tb, err)
	opts := whip.Options{Verifier: auth.NewVerifier(keys, auth.VerifierOptions{})}
	ingest, playback := whip.NewIngest(s, opts), whip.NewPlayback(s, opts)
	mux := http.NewServeMux()
	ingest.Register(mux, "/v1/whip")
	playback.Register(mux, "/v1/whep")
	srv := httptest.NewServer(mux)
	iss := auth.NewIssuer(keys, auth.IssuerOptions{})
	mint := func(sub string, role auth.Role) string {
		tok, err := iss.Mint(context.Background(), auth.MintRequest{Tenant: benchTenant, Subject: sub, Role: role, TTL: time.Hour})
		require.NoError(tb, err)
		return tok
	}
	peerCfg, err := json.Marshal(benchpeer.Config{
		WHIPURL: srv.URL + "/v1/whip/stage", WHEPURL: srv.URL + "/v1/whep/stage",
		PublishToken: mint("broadcaster", auth.RoleSpeaker), PlayToken: mint("viewer", auth.RoleAttendee),
		Subscribers: subs, NoInterceptors: os.Getenv("SFU_BENCH_NO_INTERCEPTORS") != "",
	})
	require.NoError(tb, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchpeer.EnvConfig+"="+string(peerCfg))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(tb, err)
	out, err := cmd.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, cmd.Start())
	e := &loadEnv{sfu: s, cmd: cmd, in: in, out: json.NewDecoder(bufio.NewReader(out)), subs: subs}
	e.close = sync.OnceFunc(func() {
		_, _ = io.WriteString(in, "quit\n")
		_ = in.Close()
		_ = cmd.Wait()
		srv.Close()
		_ = ingest.Close()
		_ = playback.Close()
		_ = s.Close()
	})
	tb.Cleanup(e.close)
	var ready map[string]any
	require.NoError(tb, e.out.Decode(&ready), "benchpeer did not get ready")
	require.Equal(tb, "ready", ready["event"])
	return e
}

// BenchmarkProcessFanout: one publisher → N subscribers over real loopback
// UDP, with the publisher and the subscribers (plain Pion, default
// interceptors, no decoding) in a separate process, so the CPU time
// measured is the SFU's alone. b.N is the number of packets published
// (1000-byte VP8 payloads) at SFU_BENCH_RATE packets/s (default 1000).
//
// Reported: forwarded packets per second of wall time and per second of the
// SFU process's CPU time (= per core), the SFU's CPU use in cores and the
// peer's, the latency added inside the SFU (packet read at the publisher's
// track → write to each subscriber returned, including SRTP and the UDP
// send) and end to end (send timestamp carried in the payload, read back by
// each subscriber, so both Pion client stacks are included), and loss.
//
// The publisher's rate is min(5000, F/N) packets/s, so every audience size
// forwards about F packets/s; F is SFU_BENCH_FWD (default 100,000) and
// SFU_BENCH_RATE sets the publisher's rate directly instead. SFU_BENCH_SUBS lists audience sizes (default
// 10,50,200), SFU_BENCH_CHUNK sets Config.FanoutChunk and
// SFU_BENCH_NO_INTERCEPTORS=1 runs the subscribers without interceptors.
//
//	go test -run '^$' -bench ProcessFanout -benchtime 20000x ./sfu/
func BenchmarkProcessFanout(b *testing.B) {
	fixedRate, fwdTarget := 0, 100_000
	if v, err := strconv.Atoi(os.Getenv("SFU_BENCH_RATE")); err == nil && v > 0 {
		fixedRate = v
	}
	if v, err := strconv.Atoi(os.Getenv("SFU_BENCH_FWD")); err == nil && v > 0 {
		fwdTarget = v
	}
	counts := []int{10, 50, 200}
	if v := os.Getenv("SFU_BENCH_SUBS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			require.NoError(b, err)
			counts = append(counts, n)
		}
	}
	for _, subs := range counts {
		// Started once per audience and shared by the sub-benchmark's runs
		// (testing calls it with N=1 first, then with the real N).
		var e *loadEnv
		b.Run(fmt.Sprintf("subs=%d", subs), func(sb *testing.B) {
			if e == nil {
				e = startLoadEnv(b, subs)
			}
			rate := max(min(5000, fwdTarget/subs), 1)
			if fixedRate > 0 {
				rate = fixedRate
			}
			e.measure(sb, rate)
		})
		if e != nil {
			e.close()
		}
	}
}

// measure runs b.N packets through the SFU and reports the figures.
func (e *loadEnv) measure(b *testing.B, rate int) {
	e.sfu.ResetForwardLatency()
	st0, cpu0, peer0, wall0 := e.sfu.Stats(), cpuTime(), procCPU(e.cmd.Process.Pid), time.Now()
	b.ResetTimer()
	_, err := fmt.Fprintf(e.in, "run %d %d\n", b.N, rate)
	require.NoError(b, err)
	var res benchpeer.Result
	require.NoError(b, e.out.Decode(&res))
	b.StopTimer()
	wall, cpu, peer := time.Since(wall0), cpuTime()-cpu0, procCPU(e.cmd.Process.Pid)-peer0
	fwd := float64(e.sfu.Stats().ForwardedPackets - st0.ForwardedPackets)
	lat := e.sfu.ForwardLatency()
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(fwd/wall.Seconds(), "fwd-pkts/s")
	b.ReportMetric(fwd/cpu.Seconds(), "fwd-pkts/cpu-s")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "sfu-cores")
	b.ReportMetric(peer.Seconds()/wall.Seconds(), "peer-cores")
	b.ReportMetric(us(lat.P50), "sfu-p50-µs")
	b.ReportMetric(us(lat.P99), "sfu-p99-µs")
	b.ReportMetric(res.E2EP50US, "e2e-p50-µs")
	b.ReportMetric(res.E2EP99US, "e2e-p99-µs")
	if res.Expected > 0 {
		b.ReportMetric(100*(1-float64(res.Received)/float64(res.Expected)), "loss-%")
	}
}

// BenchmarkLoopbackSendto is the floor under the figures above: one plain
// sendto of a 1,100-byte datagram (a forwarded packet with SRTP overhead) to
// a loopback socket that another goroutine drains. On loopback the sender's
// system call also runs the receiver's kernel UDP receive path, so this
// costs the SFU more than a send to a real NIC would.
func BenchmarkLoopbackSendto(b *testing.B) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(b, err)
	_ = rx.SetReadBuffer(8 << 20)
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(b, err)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			if _, _, err := rx.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	to := rx.LocalAddr().(*net.UDPAddr)
	pkt := make([]byte, 1100)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = tx.WriteToUDP(pkt, to)
	}
	b.StopTimer()
	_ = tx.Close()
	_ = rx.Close()
	<-done
}
