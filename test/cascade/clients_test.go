package cascade_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The helpers are the media clients, run in a region's namespace: a WHIP
// publisher of fake VP8 (30 fps, three 900-byte packets a frame, a keyframe
// every second and on PLI) and Opus, and a set of WHEP viewers. Every video
// payload carries its send time (Unix ns at bytes 10..17), as the load
// tester's media does, so a viewer measures end-to-end latency on the one
// host clock. Results go to stdout as one JSON line.

// sendTimeAt is where the send time sits in a video payload (after the VP8
// payload descriptor and frame header bytes the SFU inspects).
const sendTimeAt = 10

func runHelper(name string) error {
	switch name {
	case "publisher":
		return runPublisher()
	case "viewers":
		return runViewers()
	case "members":
		return runMembers()
	default:
		return fmt.Errorf("unknown helper %q", name)
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

// clientAPI gathers on the namespace's address only.
func clientAPI(bind string) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	ip := net.ParseIP(bind)
	se.SetIPFilter(func(a net.IP) bool { return a.Equal(ip) })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// post sends pc's complete offer to url and applies the answer.
func post(pc *webrtc.PeerConnection, url, token string) error {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
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
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, body)
	}
	return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)})
}

// publisherResult is the publisher helper's output.
type publisherResult struct {
	Packets int64 `json:"packets"`
	PLIs    int64 `json:"plis"`
}

func runPublisher() error {
	api, err := clientAPI(os.Getenv("CASCADE_BIND"))
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	defer pc.Close()
	video, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "speaker")
	if err != nil {
		return err
	}
	audio, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "speaker")
	if err != nil {
		return err
	}
	vs, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	if _, err := pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		return err
	}
	if err := post(pc, os.Getenv("CASCADE_URL")+"/v1/whip/"+room, os.Getenv("CASCADE_TOKEN")); err != nil {
		return err
	}
	var keyWanted atomic.Bool
	var res publisherResult
	go func() {
		for {
			pkts, _, err := vs.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				if _, ok := p.(*rtcp.PictureLossIndication); ok {
					atomic.AddInt64(&res.PLIs, 1)
					keyWanted.Store(true)
				}
			}
		}
	}()
	end := time.Now().Add(time.Duration(envInt("CASCADE_SECONDS", 60)) * time.Second)
	go func() { // audio, 20 ms frames
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		seq, ts := uint16(rand.Uint32()), rand.Uint32()
		payload := make([]byte, 80)
		for time.Now().Before(end) {
			<-tick.C
			seq++
			ts += 960
			if audio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: true}, Payload: payload}) != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	payload := make([]byte, 900)
	for frame := 0; time.Now().Before(end); frame++ {
		<-tick.C
		ts += 3000
		key := frame%30 == 0 || keyWanted.Swap(false)
		for k := 0; k < 3; k++ {
			payload[0] = 0x00
			if k == 0 {
				payload[0] = 0x10 // S: start of the frame's first partition
			}
			payload[1] = 0x01
			if key {
				payload[1] = 0x00 // P=0: keyframe
			}
			binary.BigEndian.PutUint64(payload[sendTimeAt:], uint64(time.Now().UnixNano()))
			h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == 2}
			seq++
			if err := video.WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
				return err
			}
			res.Packets++
		}
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// viewersResult is the viewers helper's output.
type viewersResult struct {
	Viewers   int `json:"viewers"`
	Connected int `json:"connected"`
	// Decoded counts viewers that received a VP8 keyframe and at least a
	// second of video before the measurement.
	Decoded int `json:"decoded"`
	// Lost and Expected are video sequence numbers missing after repair,
	// over every viewer's measurement window.
	Lost     int64 `json:"lost"`
	Expected int64 `json:"expected"`
	// Latency quantiles (µs) of send time → receipt, every video packet of
	// every viewer in the window.
	Count     int              `json:"count"`
	LatencyUS map[string]int64 `json:"latency_us"`
	// Arrivals maps the send time of each video packet the first viewer
	// received in the window to its arrival time (Unix ns), with
	// CASCADE_TRACE set: two helpers' arrivals of the same packets give the
	// per-packet difference between two paths.
	Arrivals map[int64]int64 `json:"arrivals,omitempty"`
}

// viewer is one WHEP session.
type viewer struct {
	pc *webrtc.PeerConnection

	packets  atomic.Int64
	keyframe atomic.Bool

	mu        sync.Mutex
	measuring bool
	closing   bool // after the window: only repairs of seqs ≤ highest count
	seqs      map[int64]bool
	last      int64 // unwrapped highest sequence number
	started   bool
	first     int64 // first unwrapped seq in the window
	highest   int64 // highest unwrapped seq at window end
	latencies []int64
	arrivals  map[int64]int64 // send → arrival, when tracing
}

func (v *viewer) onPacket(pkt *rtp.Packet, now int64) {
	v.packets.Add(1)
	p := pkt.Payload
	if len(p) >= 2 && p[0]&0x10 != 0 && p[0]&0x80 == 0 && p[1]&0x01 == 0 {
		v.keyframe.Store(true)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// Unwrap against the highest seen.
	var s int64
	if !v.started {
		v.started, s, v.last = true, int64(pkt.SequenceNumber), int64(pkt.SequenceNumber)
	} else {
		s = v.last + int64(int16(pkt.SequenceNumber-uint16(v.last)))
		v.last = max(v.last, s)
	}
	switch {
	case v.measuring:
		if v.seqs == nil {
			v.seqs, v.first = map[int64]bool{}, s
		}
		v.seqs[s] = true
		if len(p) >= sendTimeAt+8 {
			sent := int64(binary.BigEndian.Uint64(p[sendTimeAt:]))
			v.latencies = append(v.latencies, now-sent)
			if v.arrivals != nil {
				if _, dup := v.arrivals[sent]; !dup { // a retransmission arrives later
					v.arrivals[sent] = now
				}
			}
		}
	case v.closing && v.seqs != nil && s <= v.highest:
		v.seqs[s] = true
	}
}

func runViewers() error {
	n := envInt("CASCADE_N", 1)
	api, err := clientAPI(os.Getenv("CASCADE_BIND"))
	if err != nil {
		return err
	}
	url, token := os.Getenv("CASCADE_URL")+"/v1/whep/"+room, os.Getenv("CASCADE_TOKEN")
	res := viewersResult{Viewers: n}
	vs := make([]*viewer, 0, n)
	for range n {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			return err
		}
		defer pc.Close()
		v := &viewer{pc: pc}
		for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
				return err
			}
		}
		pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if remote.Kind() != webrtc.RTPCodecTypeVideo {
				for {
					if _, _, err := remote.ReadRTP(); err != nil {
						return
					}
				}
			}
			for {
				pkt, _, err := remote.ReadRTP()
				if err != nil {
					return
				}
				v.onPacket(pkt, time.Now().UnixNano())
			}
		})
		if err := post(pc, url, token); err != nil {
			fmt.Fprintln(os.Stderr, "viewer:", err)
			continue
		}
		res.Connected++
		vs = append(vs, v)
	}
	// Decoding: a keyframe and a second of video (90 packets) per viewer.
	deadline := time.Now().Add(time.Duration(envInt("CASCADE_DECODE_TIMEOUT", 40)) * time.Second)
	for time.Now().Before(deadline) {
		res.Decoded = 0
		for _, v := range vs {
			if v.keyframe.Load() && v.packets.Load() >= 90 {
				res.Decoded++
			}
		}
		if res.Decoded == n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintf(os.Stderr, "decoded %d/%d\n", res.Decoded, n)
	time.Sleep(time.Duration(envInt("CASCADE_WARMUP", 3)) * time.Second)
	for i, v := range vs {
		v.mu.Lock()
		v.measuring = true
		if i == 0 && os.Getenv("CASCADE_TRACE") != "" {
			v.arrivals = map[int64]int64{}
		}
		v.mu.Unlock()
	}
	time.Sleep(time.Duration(envInt("CASCADE_MEASURE", 10)) * time.Second)
	for _, v := range vs {
		v.mu.Lock()
		v.measuring, v.closing, v.highest = false, true, v.last
		v.mu.Unlock()
	}
	time.Sleep(1500 * time.Millisecond) // last repairs (RTT ≈ 80 ms, NACK retries)
	var all []int64
	for _, v := range vs {
		v.mu.Lock()
		if v.seqs != nil {
			for s := v.first; s <= v.highest; s++ {
				res.Expected++
				if !v.seqs[s] {
					res.Lost++
				}
			}
		}
		all = append(all, v.latencies...)
		if v.arrivals != nil {
			res.Arrivals = v.arrivals
		}
		v.mu.Unlock()
	}
	slices.Sort(all)
	res.Count = len(all)
	q := func(f float64) int64 {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(f*float64(len(all))))] / 1000
	}
	res.LatencyUS = map[string]int64{"p50": q(0.5), "p90": q(0.9), "p99": q(0.99), "p999": q(0.999), "max": q(1)}
	return json.NewEncoder(os.Stdout).Encode(res)
}
