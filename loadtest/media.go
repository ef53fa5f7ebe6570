package loadtest

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// mediaEnv is the WebRTC setup shared by a run's media bots: one Pion API
// (codecs, interceptors, ICE settings) and the playout deadline.
type mediaEnv struct {
	api          *webrtc.API
	jitterBuffer time.Duration
}

// mediaEnv returns the run's media environment, creating it on first use.
func (r *run) mediaEnv() (*mediaEnv, error) {
	if r.media != nil {
		return r.media, nil
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("loadtest: codecs: %w", err)
	}
	// RFC 6464 audio levels drive the SFU's active-speaker detection.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("loadtest: header extension: %w", err)
	}
	reg := &interceptor.Registry{}
	// NACK, RTCP reports, simulcast header extensions and TWCC, as a
	// browser has them; Pion's default set minus its stats interceptor
	// (GetStats): bots measure loss and latency themselves, and it was 12 %
	// of a viewer-heavy shard's CPU.
	for _, configure := range []func() error{
		func() error { return webrtc.ConfigureNack(me, reg) },
		func() error { return webrtc.ConfigureRTCPReports(reg) },
		func() error { return webrtc.ConfigureSimulcastExtensionHeaders(me) },
		func() error { return webrtc.ConfigureTWCCSender(me, reg) },
	} {
		if err := configure(); err != nil {
			return nil, fmt.Errorf("loadtest: interceptors: %w", err)
		}
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(0) // ice.MulticastDNSModeDisabled: bots need no mDNS
	loop := r.opts.Media.IncludeLoopback || r.loopbackTarget()
	if loop {
		se.SetIncludeLoopbackCandidate(true)
	}
	if ifs := r.opts.Media.Interfaces; len(ifs) > 0 {
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(ifs, name) })
	} else if loop {
		se.SetInterfaceFilter(func(name string) bool { return name == "lo" || name == "lo0" })
	}
	r.media = &mediaEnv{
		api:          webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)),
		jitterBuffer: r.sc.JitterBuffer.D(),
	}
	return r.media, nil
}

// loopbackTarget reports whether every target is on this machine's
// loopback (then only loopback candidates are gathered).
func (r *run) loopbackTarget() bool {
	for _, t := range r.murls {
		u, err := url.Parse(t)
		if err != nil {
			return false
		}
		host := u.Hostname()
		if host == "localhost" {
			continue
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return len(r.murls) > 0
}

// Synthetic media payloads carry a stamp the viewers read back: the magic
// bytes, the send time in Unix nanoseconds and a frame counter. A speaker
// puts it right after the VP8 payload descriptor and frame header (or the
// Opus TOC byte); the SFU forwards payloads untouched.
var stampMagic = [4]byte{'P', 'L', 'T', 'S'}

// stampLen is the length of a stamp.
const stampLen = 4 + 8 + 4

// putStamp writes a stamp at b (len >= stampLen).
func putStamp(b []byte, sent time.Time, frame uint32) {
	copy(b, stampMagic[:])
	binary.BigEndian.PutUint64(b[4:], uint64(sent.UnixNano()))
	binary.BigEndian.PutUint32(b[12:], frame)
}

// findStamp looks for a stamp in the first bytes of payload and returns
// its send time (zero time if none).
func findStamp(payload []byte) time.Time {
	n := min(len(payload), 48)
	for i := 0; i+stampLen <= n; i++ {
		if payload[i] == 'P' && payload[i+1] == 'L' && payload[i+2] == 'T' && payload[i+3] == 'S' {
			ns := int64(binary.BigEndian.Uint64(payload[i+4:]))
			if ns <= 0 {
				return time.Time{}
			}
			return time.Unix(0, ns)
		}
	}
	return time.Time{}
}

// vp8Payload fills p (at least 32 bytes) with packet k of a synthetic VP8
// frame: the RFC 7741 payload descriptor (X=1 with a 15-bit picture ID so
// an SFU can rewrite it; S=1 and PID=0 on the first packet), and on the
// first packet the RFC 6386 §9.1 frame header — keyframes with start code
// and size — followed by the stamp.
func vp8Payload(p []byte, k int, key bool, picture uint16, width, height int, sent time.Time, frame uint32) {
	p[0] = 0x80 // X
	if k == 0 {
		p[0] |= 0x10 // S, PID 0
	}
	p[1] = 0x80 // I: picture ID present
	p[2] = 0x80 | byte(picture>>8&0x7f)
	p[3] = byte(picture)
	i := 4
	if k == 0 {
		// Frame tag: bit 0 is the inverse key-frame flag, bit 4 show_frame.
		tag := byte(0x10)
		if !key {
			tag |= 0x01
		}
		p[i], p[i+1], p[i+2] = tag, 0, 0
		i += 3
		if key {
			p[i], p[i+1], p[i+2] = 0x9d, 0x01, 0x2a
			binary.LittleEndian.PutUint16(p[i+3:], uint16(width&0x3fff))
			binary.LittleEndian.PutUint16(p[i+5:], uint16(height&0x3fff))
			i += 7
		}
	}
	putStamp(p[i:], sent, frame)
}

// iceGate holds a peer connection's local ICE candidates until the
// session description they belong to has reached the server: a candidate
// trickled before the offer or answer would be refused there.
type iceGate struct {
	mu     sync.Mutex
	open   bool
	queued []webrtc.ICECandidateInit
	send   func(webrtc.ICECandidateInit)
}

// add sends c, or queues it while the gate is closed.
func (g *iceGate) add(c webrtc.ICECandidateInit) {
	g.mu.Lock()
	if !g.open {
		g.queued = append(g.queued, c)
		g.mu.Unlock()
		return
	}
	g.mu.Unlock()
	g.send(c)
}

// release opens the gate and sends what was queued.
func (g *iceGate) release() {
	g.mu.Lock()
	g.open = true
	q := g.queued
	g.queued = nil
	g.mu.Unlock()
	for _, c := range q {
		g.send(c)
	}
}
