package sfu

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
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

	// target is the layer the allocator wants; the media path switches to it
	// on the next keyframe of that layer.
	target atomic.Uint32
	// maxLayer is the subscriber's preference (LayerHigh = no limit).
	maxLayer atomic.Uint32
	selector layerSelector // owned by the subscriber's allocator

	mu      sync.Mutex
	bound   bool
	ssrc    uint32
	pt      uint8
	writer  webrtc.TrackLocalWriter
	current Layer
	munger  munger
	hdr     rtp.Header
	ext     []rtp.Extension

	packets atomic.Uint64
	bytes   atomic.Uint64
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
		dt.writer = ctx.WriteStream()
		dt.mu.Unlock()
		// Whatever we forward next must start with a keyframe.
		if dt.track.video {
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
	if l != LayerNone && l != dt.CurrentLayer() {
		dt.track.requestKeyframe(l)
	}
	return true
}

// writeRTP forwards one packet received on layer. It is the per-subscriber
// hot path: no allocation, one uncontended mutex.
func (dt *DownTrack) writeRTP(layer Layer, pkt *rtp.Packet, kf bool, now int64) {
	if !dt.sub.subReady.Load() {
		return
	}
	dt.mu.Lock()
	if !dt.bound {
		dt.mu.Unlock()
		return
	}
	if dt.track.video {
		target := Layer(dt.target.Load())
		switch {
		case target == LayerNone:
			// Paused: forget the current layer so resuming waits for a keyframe.
			dt.current = LayerNone
			dt.mu.Unlock()
			return
		case layer == target && (layer != dt.current || pkt.SSRC != dt.munger.ssrc || !dt.munger.started):
			// Switch of layer, resume after a pause, or publisher restart
			// (new SSRC): only on a keyframe of the target layer.
			if !kf {
				dt.mu.Unlock()
				return
			}
			prev := dt.current
			dt.current = layer
			dt.munger.switchTo(&pkt.Header, now)
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
			return
		}
	} else if !dt.munger.started || pkt.SSRC != dt.munger.ssrc {
		dt.munger.switchTo(&pkt.Header, now)
	}
	seq, ts, ok := dt.munger.rewrite(&pkt.Header, now)
	if !ok {
		dt.mu.Unlock()
		return
	}
	h := &dt.hdr
	*h = pkt.Header
	// Header extensions are dropped: their IDs were negotiated with the
	// publisher, not with this subscriber. Interceptors add their own (TWCC)
	// into dt.ext, whose capacity is kept for the next packet.
	h.Extension = false
	h.ExtensionProfile = 0
	h.Extensions = dt.ext[:0]
	h.Padding = false
	h.PaddingSize = 0
	h.SSRC = dt.ssrc
	h.PayloadType = dt.pt
	h.SequenceNumber = seq
	h.Timestamp = ts
	_, err := dt.writer.WriteRTP(h, pkt.Payload)
	dt.ext = h.Extensions[:0]
	dt.mu.Unlock()
	if err != nil {
		return
	}
	dt.packets.Add(1)
	dt.bytes.Add(uint64(len(pkt.Payload)))
	if dt.track.video {
		packetsVideo.Inc()
		bytesVideo.Add(float64(len(pkt.Payload)))
	} else {
		packetsAudio.Inc()
		bytesAudio.Add(float64(len(pkt.Payload)))
	}
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
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
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
			}
		}
	}
}
