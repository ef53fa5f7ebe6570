package sfu

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/sfu/internal/hdrhist"
)

// DownTrack is one subscriber's copy of a published track. It implements
// webrtc.TrackLocal so Pion binds it to the subscriber connection, and it
// rewrites every forwarded packet (SSRC, payload type, sequence number,
// timestamp) so the subscriber sees one continuous stream whatever layer or
// publisher incarnation it comes from.
type DownTrack struct {
	track *publishedTrack
	sub   *Participant
	id    string
	kind  webrtc.RTPCodecType

	sender *webrtc.RTPSender // set once after AddTransceiverFromTrack
	slot   *subscriberSlot   // set once in ClientOffer mode (see client_offer.go)

	// target is the layer the allocator wants; the media path switches to it
	// on the next keyframe of that layer.
	target atomic.Uint32
	// maxLayer is the subscriber's preference (LayerHigh = no limit).
	maxLayer atomic.Uint32
	selector layerSelector // owned by the subscriber's allocator

	mu    sync.Mutex
	bound bool
	ssrc  uint32
	pt    uint8
	// levelID is the RFC 6464 audio level extension's ID as negotiated with
	// the subscriber (0: not negotiated, or video).
	levelID uint8
	writer  webrtc.TrackLocalWriter
	current Layer
	munger  munger
	vp8     vp8Rewriter // picture ID continuity across switches (vp8_rewrite.go)
	hdr     rtp.Header
	ext     []rtp.Extension
	// endOfFrame: the last packet forwarded had the marker bit (RFC 3551
	// video: last packet of a frame), so padding may follow without
	// splitting a frame.
	endOfFrame bool
	// resync makes the next packet a switch point (after a server-side
	// mute), so sequence numbers stay contiguous and timestamps advance by
	// the time that passed.
	resync bool

	packets atomic.Uint64
	bytes   atomic.Uint64
	// latency, when Config.MeasureLatency is set, records the time from the
	// packet's read at the publisher's track to the end of its write here.
	latency *hdrhist.Histogram
}

var _ webrtc.TrackLocal = (*DownTrack)(nil)

func newDownTrack(t *publishedTrack, sub *Participant) *DownTrack {
	dt := &DownTrack{
		track:  t,
		sub:    sub,
		id:     string(t.info.ID),
		kind:   t.info.Kind,
		munger: newMunger(t.codec.ClockRate),
		ext:    make([]rtp.Extension, 0, 4),
	}
	dt.maxLayer.Store(uint32(LayerHigh))
	dt.latency = sub.room.sfu.latency
	dt.selector.hold = sub.room.sfu.cfg.UpgradeHold
	if !t.video {
		dt.target.Store(uint32(LayerHigh))
		dt.current = LayerHigh
	}
	return dt
}

// Bind implements webrtc.TrackLocal: Pion calls it once negotiation picked a
// codec. The publisher's codec must be among the subscriber's.
func (dt *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	want := dt.track.codec
	for _, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		if strings.EqualFold(want.MimeType, webrtc.MimeTypeH264) && !sameH264Mode(c.SDPFmtpLine, want.SDPFmtpLine) {
			continue
		}
		dt.mu.Lock()
		dt.bound = true
		dt.ssrc = uint32(ctx.SSRC())
		dt.pt = uint8(c.PayloadType)
		dt.levelID = 0
		if !dt.track.video {
			dt.levelID = audioLevelID(ctx.HeaderExtensions())
		}
		dt.writer = ctx.WriteStream()
		dt.mu.Unlock()
		// Whatever we forward next must start with a keyframe. Before the
		// subscriber connection is up, the request waits for it
		// (Participant.requestKeyframes): a keyframe sent now would be
		// dropped, and its request would hold the publisher's throttle
		// window shut when the subscriber really needs one.
		if dt.track.video && dt.sub.subReady.Load() {
			dt.track.requestKeyframe(dt.Target())
		}
		return c, nil
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

// sameH264Mode compares packetization-mode, which must match for the
// subscriber to depacketize what the publisher sends (RFC 6184 §8.1).
func sameH264Mode(a, b string) bool {
	return strings.Contains(a, "packetization-mode=1") == strings.Contains(b, "packetization-mode=1")
}

// Unbind implements webrtc.TrackLocal.
func (dt *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	dt.mu.Lock()
	dt.bound = false
	dt.writer = nil
	dt.mu.Unlock()
	return nil
}

// ID implements webrtc.TrackLocal: the room-unique track ID.
func (dt *DownTrack) ID() string { return dt.id }

// RID implements webrtc.TrackLocal; a down-track is a single stream.
func (dt *DownTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal: the publisher's participant ID, so
// a client groups a participant's camera and microphone.
func (dt *DownTrack) StreamID() string { return string(dt.track.info.Publisher) }

// Kind implements webrtc.TrackLocal.
func (dt *DownTrack) Kind() webrtc.RTPCodecType { return dt.kind }

// Target returns the layer the allocator currently wants for dt.
func (dt *DownTrack) Target() Layer { return Layer(dt.target.Load()) }

// CurrentLayer returns the layer being forwarded.
func (dt *DownTrack) CurrentLayer() Layer {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	return dt.current
}

// wantedLayer is what dynacast must keep encoding for dt.
func (dt *DownTrack) wantedLayer() Layer { return dt.Target() }

// setTarget changes the wanted layer and asks for a keyframe on it. It
// returns true if the target changed.
func (dt *DownTrack) setTarget(l Layer) bool {
	if !dt.track.video {
		return false
	}
	old := Layer(dt.target.Swap(uint32(l)))
	if old == l {
		return false
	}
	if l != LayerNone && l != dt.CurrentLayer() && dt.sub.subReady.Load() { // else asked once connected, as in Bind
		dt.track.requestKeyframe(l)
	}
	return true
}

// writeRTP forwards one packet received on layer at now (monotonic ns) and
// reports whether it was sent. It is the per-subscriber hot path: no
// allocation, one uncontended mutex; node-wide counters are updated once per
// received packet by the caller, not here, so fan-out workers do not fight
// over their cache lines.
func (dt *DownTrack) writeRTP(layer Layer, pkt *rtp.Packet, kf bool, now int64) bool {
	if !dt.sub.subReady.Load() {
		return false
	}
	dt.mu.Lock()
	if !dt.bound {
		dt.mu.Unlock()
		return false
	}
	if dt.track.video {
		target := Layer(dt.target.Load())
		switch {
		case target == LayerNone:
			// Paused: forget the current layer so resuming waits for a keyframe.
			dt.current = LayerNone
			dt.mu.Unlock()
			return false
		case layer == target && (layer != dt.current || pkt.SSRC != dt.munger.ssrc || !dt.munger.started):
			// Switch of layer, resume after a pause, or publisher restart
			// (new SSRC): only on a keyframe of the target layer.
			if !kf {
				dt.mu.Unlock()
				return false
			}
			prev := dt.current
			dt.current = layer
			dt.munger.switchTo(&pkt.Header, now)
			dt.vp8.switchTo(dt.track.ckind, pkt.Payload)
			if prev != layer {
				if prev.valid() && layer < prev {
					switchDown.Inc()
				} else if prev.valid() {
					switchUp.Inc()
				}
				dt.sub.events.push(Event{Kind: EventLayerChanged, TrackID: dt.track.info.ID, Layer: layer})
			}
		case layer == dt.current && pkt.SSRC == dt.munger.ssrc:
			// Keep forwarding the current layer until the target's keyframe.
		default:
			dt.mu.Unlock()
			return false
		}
	} else if !dt.munger.started || pkt.SSRC != dt.munger.ssrc || dt.resync {
		dt.munger.switchTo(&pkt.Header, now)
		dt.resync = false
	}
	seq, ts, ok := dt.munger.rewrite(&pkt.Header, now)
	if !ok {
		dt.mu.Unlock()
		return false
	}
	h := &dt.hdr
	*h = pkt.Header
	// Header extensions are hop-by-hop: their IDs were negotiated with the
	// publisher, not with this subscriber. Only the RFC 6464 audio level is
	// carried over, renumbered to the subscriber's ID, so clients (and a
	// relay's edge node) can tell who speaks. Interceptors add their own
	// (TWCC) into dt.ext, whose capacity is kept for the next packet.
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = dt.ext[:0]
	if dt.levelID != 0 {
		if src := dt.track.audio; src != nil && src.extID != 0 {
			if level := pkt.Header.GetExtension(src.extID); len(level) > 0 {
				_ = h.SetExtension(dt.levelID, level)
			}
		}
	}
	h.Padding = false
	h.PaddingSize = 0
	h.SSRC = dt.ssrc
	h.PayloadType = dt.pt
	h.SequenceNumber = seq
	h.Timestamp = ts
	_, err := dt.writer.WriteRTP(h, dt.vp8.rewrite(pkt.Payload))
	dt.ext = h.Extensions[:0]
	if int16(seq-dt.munger.lastSeq) >= 0 {
		dt.endOfFrame = pkt.Marker // late packets do not move the frame edge
	}
	dt.mu.Unlock()
	if dt.latency != nil {
		dt.latency.Record(time.Duration(nanotime() - now))
	}
	if err != nil {
		return false
	}
	dt.packets.Add(1)
	dt.bytes.Add(uint64(len(pkt.Payload)))
	return true
}

// restart makes forwarding resume as after a pause: video waits for a
// keyframe of the target layer, audio continues the sequence, and both
// advance timestamps by the time that passed.
func (dt *DownTrack) restart() {
	dt.mu.Lock()
	if dt.track.video {
		dt.current = LayerNone
	}
	dt.resync = true
	dt.mu.Unlock()
}

// writePadding sends one padding-only packet (a bandwidth probe) after the
// last forwarded packet and returns its padding size, or 0 if it cannot be
// sent now: nothing forwarded yet, or in the middle of a frame (a receiver's
// frame assembler expects a frame's packets to be contiguous).
func (dt *DownTrack) writePadding() int {
	dt.mu.Lock()
	defer dt.mu.Unlock()
	if !dt.bound || !dt.munger.started || !dt.endOfFrame || (dt.track.video && !dt.current.valid()) {
		return 0
	}
	seq, ts := dt.munger.pad()
	h := &dt.hdr
	*h = rtp.Header{
		Version: 2, Padding: true, PaddingSize: paddingSize,
		PayloadType: dt.pt, SequenceNumber: seq, Timestamp: ts, SSRC: dt.ssrc,
		Extensions: dt.ext[:0],
	}
	_, err := dt.writer.WriteRTP(h, nil)
	dt.ext = h.Extensions[:0]
	h.Padding, h.PaddingSize = false, 0
	if err != nil {
		return 0
	}
	return paddingSize
}

// rtcpLoop reads the subscriber's RTCP for this track (which also drives
// the NACK responder and congestion control interceptors) and turns PLI/FIR
// into merged keyframe requests. It returns when the sender stops.
func (dt *DownTrack) rtcpLoop() {
	buf := make([]byte, mtu)
	for {
		n, _, err := dt.sender.Read(buf)
		if err != nil {
			return
		}
		dt.handleRTCP(buf[:n])
	}
}

// handleRTCP acts on one compound RTCP packet from the subscriber.
func (dt *DownTrack) handleRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		switch p.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			pliIn.Inc()
			l := dt.CurrentLayer()
			if !l.valid() {
				l = dt.Target()
			}
			dt.track.requestKeyframe(l)
		case *rtcp.TransportLayerNack:
			metricNACKs.Inc()
		case *rtcp.ReceiverReport:
			dt.observeLoss(p.(*rtcp.ReceiverReport)) // loss.go
		}
	}
}
