package sfu

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoopbackFanout is the first, all-in-one-process version of the
// fan-out benchmark; its CPU figure includes the client stacks. For
// capacity figures use BenchmarkProcessFanout, whose load client runs in
// its own process.
//
// BenchmarkLoopbackFanout sends b.N packets from one publisher through the
// SFU to N subscribers over real loopback UDP (ICE, DTLS, SRTP, interceptors
// on every hop), paced at 2,000 packets/s. It reports forwarded packets per
// second of process CPU time (which includes the publisher and all N
// subscriber Pion stacks running in the same process, so it understates the
// SFU's own throughput) and the publisher→subscriber latency percentiles
// (an upper bound on the SFU's added latency: it includes both client
// stacks).
func BenchmarkLoopbackFanout(b *testing.B) {
	for _, n := range []int{1, 10, 50} {
		b.Run(fmt.Sprint("subs=", n), func(b *testing.B) { benchLoopback(b, n, 2000) })
	}
}

func benchLoopback(b *testing.B, subs, rate int) {
	s := newTestSFU(b, nil)
	pub := joinClient(b, s, "bench", "pub", JoinOptions{}, nil)
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "pub")
	require.NoError(b, err)
	_, err = pub.pub.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(b, err)
	pub.negotiatePublisher()

	type lat struct {
		mu      sync.Mutex
		samples []time.Duration
	}
	lats := make([]*lat, subs)
	clients := make([]*client, subs)
	ready := make(chan struct{}, subs)
	for i := range subs {
		lats[i] = &lat{samples: make([]time.Duration, 0, b.N+100)}
		c, err := s.Join(b.Context(), testTenant, "bench", ParticipantID(fmt.Sprint("sub-", i)), JoinOptions{AutoSubscribe: true})
		require.NoError(b, err)
		api := clientAPI(b, nil)
		cl := &client{t: b, id: c.id, p: c, done: make(chan struct{}), pending: map[Target][]webrtc.ICECandidateInit{}, recv: map[string]*received{}}
		cl.pub, _ = api.NewPeerConnection(webrtc.Configuration{})
		cl.sub, _ = api.NewPeerConnection(webrtc.Configuration{})
		l := lats[i]
		cl.sub.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			buf := make([]byte, mtu)
			var pkt rtp.Packet
			first := true
			for {
				n, _, err := remote.Read(buf)
				if err != nil {
					return
				}
				if pkt.Unmarshal(buf[:n]) != nil || len(pkt.Payload) < 11 {
					continue
				}
				if first {
					first = false
					ready <- struct{}{}
				}
				sent := int64(binary.BigEndian.Uint64(pkt.Payload[3:11]))
				if sent == 0 {
					continue // warm-up packet
				}
				l.mu.Lock()
				l.samples = append(l.samples, time.Duration(nanotime()-sent))
				l.mu.Unlock()
			}
		})
		go cl.loop()
		b.Cleanup(cl.close)
		clients[i] = cl
	}

	payload := make([]byte, 1000)
	payload[0], payload[1] = 0x10, 0x00 // every packet is a VP8 keyframe start
	var seq uint16
	var ts uint32
	send := func(stamp bool) {
		if stamp {
			binary.BigEndian.PutUint64(payload[3:11], uint64(nanotime()))
		} else {
			binary.BigEndian.PutUint64(payload[3:11], 0)
		}
		seq++
		ts += 90
		_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
	}
	// Warm up until every subscriber receives.
	got := 0
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	for got < subs {
		select {
		case <-ready:
			got++
		case <-tick.C:
			send(false)
		case <-deadline:
			b.Fatalf("only %d of %d subscribers receive", got, subs)
		}
	}
	tick.Stop()

	interval := time.Second / time.Duration(rate)
	cpu0, wall0 := cpuTime(), time.Now()
	b.ResetTimer()
	next := time.Now()
	for i := 0; i < b.N; i++ {
		send(true)
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	// Drain: wait until all samples arrived or 2 s passed.
	drainBy := time.Now().Add(2 * time.Second)
	for time.Now().Before(drainBy) {
		total := 0
		for _, l := range lats {
			l.mu.Lock()
			total += len(l.samples)
			l.mu.Unlock()
		}
		if total >= b.N*subs {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)

	var all []time.Duration
	for _, l := range lats {
		l.mu.Lock()
		all = append(all, l.samples...)
		l.mu.Unlock()
	}
	if len(all) == 0 {
		b.Fatal("no samples")
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
	b.ReportMetric(float64(len(all))/cpu.Seconds(), "fwd-pkts/cpu-s")
	b.ReportMetric(float64(len(all))/wall.Seconds(), "fwd-pkts/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(100*(1-float64(len(all))/float64(b.N*subs)), "loss-%")
}
