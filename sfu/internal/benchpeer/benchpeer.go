// Package benchpeer is the load client of the SFU's process benchmark. It
// runs in its own process, so the SFU's CPU time can be measured alone: one
// publisher connects over WHIP, N subscribers over WHEP, all plain Pion
// peers (no decoding) on real loopback UDP.
//
// The parent drives it over stdin/stdout, one line each way:
//
//	→ (start)                    ← {"event":"ready"}   every subscriber receives
//	→ run <packets> <rate>       ← {"event":"result", ...}  see Result
//	→ quit (or EOF)              the peer closes its connections and exits
//
// Every measured packet carries its send time in the payload, so the result
// includes the end-to-end latency publisher → SFU → subscriber. Between runs
// the publisher sends a slow keep-alive stream (stamped zero, not measured)
// so the SFU keeps the track's layer active.
package benchpeer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/sfu/internal/hdrhist"
)

// EnvConfig is the environment variable carrying the JSON Config when a
// test binary re-executes itself as the peer (see Main).
const EnvConfig = "PLENARY_BENCHPEER"

// stampOffset is where the send time sits in the payload: after the VP8
// payload descriptor (byte 0), the keyframe flag byte (1) and the run
// number (2).
const stampOffset = 3

// keepAliveEvery paces the unmeasured stream between runs.
const keepAliveEvery = 20 * time.Millisecond

// Config configures the peer.
type Config struct {
	// WHIPURL and WHEPURL are the room's ingest and playback endpoints.
	WHIPURL, WHEPURL string
	// PublishToken and PlayToken are bearer tokens for them.
	PublishToken, PlayToken string
	// Subscribers is the number of WHEP players.
	Subscribers int
	// PayloadSize is the RTP payload size in bytes (default 1000).
	PayloadSize int
	// NoInterceptors runs subscribers without Pion's default interceptors
	// (no NACK, receiver reports or TWCC feedback): cheaper for the peer,
	// but the SFU then does less per packet than with a browser.
	NoInterceptors bool
}

// Result is the peer's report of one run.
type Result struct {
	Event    string `json:"event"`
	Sent     int    `json:"sent"`
	Received uint64 `json:"received"`
	Expected uint64 `json:"expected"`
	// E2E latency quantiles in µs: publisher write → subscriber read.
	E2EP50US float64 `json:"e2e_p50_us"`
	E2EP90US float64 `json:"e2e_p90_us"`
	E2EP99US float64 `json:"e2e_p99_us"`
	E2EMaxUS float64 `json:"e2e_max_us"`
	// SendSeconds is how long publishing took (packets / rate).
	SendSeconds float64 `json:"send_seconds"`
}

// Main runs the peer with the Config in $PLENARY_BENCHPEER on stdin and
// stdout and returns the process exit code.
func Main() int {
	var cfg Config
	if err := json.Unmarshal([]byte(os.Getenv(EnvConfig)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "benchpeer: config:", err)
		return 2
	}
	if err := Run(context.Background(), cfg, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchpeer:", err)
		return 1
	}
	return 0
}

// peer is the running load client.
type peer struct {
	cfg    Config
	epoch  time.Time
	api    *webrtc.API
	subAPI *webrtc.API
	pcs    []*webrtc.PeerConnection

	track     *webrtc.TrackLocalStaticRTP
	keyWanted atomic.Bool
	runID     byte // payload[2], so receivers know when a run starts
	seq       uint16
	ts        uint32
	payload   []byte

	hist     hdrhist.Histogram
	received atomic.Uint64
	ready    atomic.Int64 // subscribers that received their first packet
}

// Run connects the publisher and subscribers, then serves commands from in
// until "quit" or EOF.
func Run(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	if cfg.PayloadSize == 0 {
		cfg.PayloadSize = 1000
	}
	if cfg.PayloadSize < stampOffset+8 {
		return fmt.Errorf("payload size %d too small", cfg.PayloadSize)
	}
	p := &peer{cfg: cfg, epoch: time.Now(), payload: make([]byte, cfg.PayloadSize)}
	defer p.close()
	var err error
	if p.api, err = newAPI(true); err != nil {
		return err
	}
	if p.subAPI, err = newAPI(!cfg.NoInterceptors); err != nil {
		return err
	}
	if err := p.publish(ctx); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for i := range cfg.Subscribers {
		if err := p.subscribe(ctx); err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
	}
	enc := json.NewEncoder(out)
	if err := p.warmUp(ctx, 60*time.Second); err != nil {
		return err
	}
	if err := enc.Encode(map[string]string{"event": "ready"}); err != nil {
		return err
	}
	cmds := make(chan string)
	go func() {
		defer close(cmds)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			cmds <- sc.Text()
		}
	}()
	keepAlive := time.NewTicker(keepAliveEvery)
	defer keepAlive.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-keepAlive.C:
			p.send(false)
		case line, ok := <-cmds:
			if !ok || strings.TrimSpace(line) == "quit" {
				return nil
			}
			var packets, rate int
			if _, err := fmt.Sscanf(line, "run %d %d", &packets, &rate); err != nil || packets <= 0 || rate <= 0 {
				return fmt.Errorf("bad command %q", line)
			}
			res := p.run(packets, rate)
			if err := enc.Encode(res); err != nil {
				return err
			}
		}
	}
}

func newAPI(interceptors bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if interceptors {
		if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
			return nil, err
		}
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetICEMulticastDNSMode(0)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// exchange POSTs pc's complete offer to url and applies the answer.
func exchange(ctx context.Context, pc *webrtc.PeerConnection, url, token string) error {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)})
}

// publish connects the WHIP publisher with one VP8 track.
func (p *peer) publish(ctx context.Context) error {
	pc, err := p.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.pcs = append(p.pcs, pc)
	p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "bench")
	if err != nil {
		return err
	}
	tr, err := pc.AddTransceiverFromTrack(p.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	go func() {
		for {
			pkts, _, err := tr.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, pk := range pkts {
				switch pk.(type) {
				case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
					p.keyWanted.Store(true)
				}
			}
		}
	}()
	return exchange(ctx, pc, p.cfg.WHIPURL, p.cfg.PublishToken)
}

// subscribe connects one WHEP player with a single video section.
func (p *peer) subscribe(ctx context.Context) error {
	pc, err := p.subAPI.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.pcs = append(p.pcs, pc)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return err
	}
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.receive(remote) })
	return exchange(ctx, pc, p.cfg.WHEPURL, p.cfg.PlayToken)
}

// receive reads one subscriber's stream: no decoding, just the stamp.
func (p *peer) receive(remote *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var h rtp.Header
	first := true
	// Sequence numbers seen in the current run: retransmissions (NACK/RTX)
	// must not count twice, or they would hide loss.
	var seen [1 << 16 / 64]uint64
	run := byte(0)
	for {
		n, _, err := remote.Read(buf)
		if err != nil {
			return
		}
		hl, err := h.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		end := n
		if h.Padding {
			end -= int(buf[n-1])
		}
		payload := buf[hl:max(end, hl)]
		if len(payload) < stampOffset+8 {
			continue // padding-only probe
		}
		if first {
			first = false
			p.ready.Add(1)
		}
		sent := int64(binary.BigEndian.Uint64(payload[stampOffset:]))
		if sent == 0 {
			continue // keep-alive
		}
		if payload[2] != run {
			run, seen = payload[2], [len(seen)]uint64{}
		}
		w, bit := h.SequenceNumber/64, uint64(1)<<(h.SequenceNumber%64)
		if seen[w]&bit != 0 {
			continue // a retransmission of a packet already counted
		}
		seen[w] |= bit
		p.hist.Record(time.Duration(p.now() - sent))
		p.received.Add(1)
	}
}

func (p *peer) now() int64 { return int64(time.Since(p.epoch)) }

// send writes one packet, stamped with the send time if measured.
func (p *peer) send(measured bool) {
	b := p.payload
	b[0] = 0x10 // VP8 descriptor: start of partition 0
	b[1] = 0x01 // inverse key frame flag: a delta frame
	b[2] = p.runID
	if p.keyWanted.Swap(false) {
		b[1] = 0x00
	}
	stamp := int64(0)
	if measured {
		stamp = max(p.now(), 1)
	}
	binary.BigEndian.PutUint64(b[stampOffset:], uint64(stamp))
	p.seq++
	p.ts += 3000
	_ = p.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: p.seq, Timestamp: p.ts, Marker: true}, Payload: b})
}

// warmUp sends keep-alives until every subscriber receives.
func (p *peer) warmUp(ctx context.Context, limit time.Duration) error {
	tick := time.NewTicker(keepAliveEvery)
	defer tick.Stop()
	deadline := time.After(limit)
	for int(p.ready.Load()) < p.cfg.Subscribers {
		select {
		case <-tick.C:
			p.send(false)
		case <-deadline:
			return fmt.Errorf("only %d of %d subscribers receive after %s", p.ready.Load(), p.cfg.Subscribers, limit)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// run publishes packets at rate (packets/s, sent in 1 ms bursts) and
// waits for the subscribers to drain.
func (p *peer) run(packets, rate int) Result {
	p.hist.Reset()
	p.received.Store(0)
	p.runID++
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	sent := 0
	for sent < packets {
		<-tick.C
		due := min(int(time.Since(start).Seconds()*float64(rate))+1, packets)
		for ; sent < due; sent++ {
			p.send(true)
		}
	}
	tick.Stop()
	sendTime := time.Since(start)
	expected := uint64(packets) * uint64(p.cfg.Subscribers)
	// Drain: until everything arrived, or nothing more for 500 ms.
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	last, lastAt := p.received.Load(), time.Now()
	for got := last; got < expected && time.Since(lastAt) < 500*time.Millisecond; got = p.received.Load() {
		if got != last {
			last, lastAt = got, time.Now()
		}
		<-poll.C
	}
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	return Result{
		Event: "result", Sent: packets, Received: p.received.Load(), Expected: expected,
		E2EP50US: us(p.hist.Quantile(0.5)), E2EP90US: us(p.hist.Quantile(0.9)),
		E2EP99US: us(p.hist.Quantile(0.99)), E2EMaxUS: us(p.hist.Max()),
		SendSeconds: sendTime.Seconds(),
	}
}

func (p *peer) close() {
	var wg sync.WaitGroup
	for _, pc := range p.pcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := pc.Close(); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
				fmt.Fprintln(os.Stderr, "benchpeer: close:", err)
			}
		}()
	}
	wg.Wait()
}
