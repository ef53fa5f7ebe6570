package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// mtu bounds a received RTP packet; browsers stay under 1200 bytes.
const mtu = 1500

// layerActiveWindow: a layer that delivered no packet for this long is
// considered stopped by the publisher (unless dynacast paused it).
const layerActiveWindow = time.Second

// measureWindow is the averaging window of layer bitrates: a few frames
// are not enough, keyframes are several times larger than delta frames.
const measureWindow = time.Second

// publishedTrack is one track published in a room: up to three simulcast
// layers received from the publisher, and the subscribers' down-tracks.
type publishedTrack struct {
	info  TrackInfo
	room  *Room
	pub   *Participant
	codec webrtc.RTPCodecParameters
	ckind codecKind
	video bool
	audio *audioLevelMeter // nil for video

	// downTracks is replaced, never mutated (copy on write under mu), so the
	// media path reads it with one atomic load.
	downTracks atomic.Pointer[[]*DownTrack]
	// muted (MuteTrack) drops media; stopped (Unpublish) drops it for good
	// while the publisher's stream is drained until it ends.
	muted   atomic.Bool
	stopped atomic.Bool

	mu     sync.Mutex
	layers [numLayers]*layerReceiver
	// expected are the layers the publisher's offer announced (its rids).
	// Dynacast never pauses one of them before its first packet arrived:
	// the SFU would otherwise pause a layer it has not seen yet (nobody can
	// want it), the publisher would never send it, and it could never be
	// wanted.
	expected  [numLayers]bool
	readers   int
	closed    bool
	announced Layer // last dynacast MaxLayer sent to the publisher
	// resumedMono is when dynacast last raised announced (monotonic ns): a
	// resumed layer counts as present for layerActiveWindow, until its
	// packets flow again, or the selector would give it up at once.
	resumedMono int64
	// changedMono is when dynacast last changed announced: a measurement
	// window containing a pause or resume says nothing about a layer's rate.
	changedMono int64
	// measurement state for layer bitrates
	measuredAt   time.Time
	measuredMono int64
	bitrates     [numLayers]int
}

// layerReceiver is one received RTP stream (one rid).
type layerReceiver struct {
	layer    Layer
	remote   *webrtc.TrackRemote
	throttle *keyframeThrottle
	bytes    atomic.Uint64
	last     atomic.Int64 // monotonic ns of the last packet
	first    atomic.Int64 // monotonic ns of the first packet, 0 before it
	// lastBytes is the byte count at the previous measurement (under track mu).
	lastBytes uint64
	fan       fanout
}

func newPublishedTrack(r *Room, p *Participant, id TrackID, remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) *publishedTrack {
	codec := remote.Codec()
	// A relay link's republisher publishes on behalf of a participant of
	// another node, whose ID the upstream node put in the stream ID (see
	// DownTrack.StreamID): the track is announced as theirs and their
	// audio can make them the active speaker here.
	publisher := p.id
	if sid := remote.StreamID(); p.opts.Relay && validID(sid) {
		publisher = ParticipantID(sid)
	}
	t := &publishedTrack{
		info: TrackInfo{
			ID:        id,
			Publisher: publisher,
			Kind:      remote.Kind(),
			MimeType:  codec.MimeType,
			StreamID:  remote.StreamID(),
			Simulcast: remote.RID() != "",
		},
		room:      r,
		pub:       p,
		codec:     codec,
		ckind:     codecKindOf(codec.MimeType),
		video:     remote.Kind() == webrtc.RTPCodecTypeVideo,
		announced: LayerHigh,
	}
	if !t.video {
		t.audio = &audioLevelMeter{extID: audioLevelID(recv.GetParameters().HeaderExtensions)}
	}
	if t.video {
		for _, tr := range recv.Tracks() {
			t.expected[layerForRID(tr.RID()).idx()] = true
		}
	}
	empty := []*DownTrack{}
	t.downTracks.Store(&empty)
	return t
}

// addLayer starts reading one received stream. It returns false if the
// track is already closed.
func (t *publishedTrack) addLayer(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) bool {
	layer := layerForRID(remote.RID())
	lr := &layerReceiver{layer: layer, remote: remote}
	lr.throttle = newKeyframeThrottle(t.room.sfu.cfg.KeyframeInterval, func() { t.sendPLI(lr) })
	t.mu.Lock()
	if t.closed || t.layers[layer.idx()] != nil {
		t.mu.Unlock()
		return false
	}
	t.layers[layer.idx()] = lr
	t.readers++
	t.mu.Unlock()
	p := t.pub
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		t.readLoop(lr)
	}()
	go func() {
		defer p.wg.Done()
		drainReceiverRTCP(recv, remote.RID())
	}()
	// A layer arriving may lift the start-up hold on pausing it.
	t.updateDynacast()
	return true
}

// drainReceiverRTCP reads the publisher's RTCP (sender reports) so the
// receiver-report interceptor sees it, until the receiver stops.
func drainReceiverRTCP(recv *webrtc.RTPReceiver, rid string) {
	buf := make([]byte, mtu)
	for {
		var err error
		if rid != "" {
			_, _, err = recv.ReadSimulcast(buf, rid)
		} else {
			_, _, err = recv.Read(buf)
		}
		if err != nil {
			return
		}
	}
}

// readLoop is the media hot path for one layer: read into a free slot of
// the layer's fan-out ring, parse in place, inspect once, fan out (the
// workers' chunks complete after the next read, see fanout.go). It returns when the
// remote track ends; the last layer to end unpublishes the track.
func (t *publishedTrack) readLoop(lr *layerReceiver) {
	pool, chunk := t.room.sfu.pool, t.room.sfu.cfg.FanoutChunk
	for {
		s := lr.fan.acquire()
		n, _, err := lr.remote.Read(s.buf[:])
		if err != nil {
			break
		}
		if err := s.pkt.Unmarshal(s.buf[:n]); err != nil {
			continue
		}
		now := nanotime()
		t.forward(lr, s, n, now, pool, chunk)
	}
	lr.fan.wait()
	lr.throttle.close()
	t.mu.Lock()
	t.readers--
	last := t.readers == 0
	if last {
		t.closed = true
	}
	t.mu.Unlock()
	if last {
		t.room.removeTrack(t)
		t.pub.forgetTrack(t)
	}
}

// forward inspects the packet in slot s and writes it to every down-track.
func (t *publishedTrack) forward(lr *layerReceiver, s *fanoutSlot, size int, now int64, pool *fanoutPool, chunk int) {
	pkt := &s.pkt
	if len(pkt.Payload) == 0 || t.muted.Load() || t.stopped.Load() {
		return // padding-only probe, or not to be forwarded now
	}
	kf := false
	if t.video {
		kf = isKeyframe(t.ckind, pkt.Payload)
		if kf {
			lr.throttle.keyframeReceived()
		}
	} else if t.audio != nil {
		t.audio.observe(&pkt.Header)
	}
	lr.bytes.Add(uint64(size))
	lr.last.Store(now)
	if lr.first.Load() == 0 {
		lr.first.Store(now)
	}
	sent := lr.fan.forward(pool, chunk, t, *t.downTracks.Load(), lr.layer, s, kf, now)
	t.countSent(sent, len(pkt.Payload))
}

// countSent adds sent forwarded packets of payloadLen bytes to the node's
// counters: once per chunk of subscribers, not per subscriber, so fan-out
// workers do not fight over the counters' cache lines.
func (t *publishedTrack) countSent(sent, payloadLen int) {
	if sent == 0 {
		return
	}
	bytes := uint64(sent) * uint64(payloadLen)
	if t.video {
		packetsVideo.Add(float64(sent))
		bytesVideo.Add(float64(bytes))
	} else {
		packetsAudio.Add(float64(sent))
		bytesAudio.Add(float64(bytes))
	}
	st := &t.room.sfu.stats
	st.packets.Add(uint64(sent))
	st.bytes.Add(bytes)
}

// infoNow is the track's description with its current mute state.
func (t *publishedTrack) infoNow() TrackInfo {
	info := t.info
	info.Muted = t.muted.Load()
	return info
}

// pliHook, when set (by tests), is called for every PLI sent to a
// publisher, at the moment it is sent.
var pliHook atomic.Pointer[func(ssrc uint32)]

// sendPLI asks the publisher for a keyframe on lr (RFC 4585 §6.3.1). Called
// by the layer's throttle, never more than once per window.
func (t *publishedTrack) sendPLI(lr *layerReceiver) {
	pliOut.Inc()
	ssrc := uint32(lr.remote.SSRC())
	if h := pliHook.Load(); h != nil {
		(*h)(ssrc)
	}
	if err := t.pub.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		t.pub.log.Debug("send PLI", "err", err)
	}
}

// requestKeyframe asks for a keyframe on layer l, merged with every other
// request for that layer.
func (t *publishedTrack) requestKeyframe(l Layer) {
	if !t.video || !l.valid() {
		return
	}
	t.mu.Lock()
	lr := t.layers[l.idx()]
	t.mu.Unlock()
	if lr != nil {
		lr.throttle.request()
	}
}

// layerState returns, for the allocator, which layers exist (receiving, or
// paused by dynacast and resumable) and their measured bitrates in bit/s.
func (t *publishedTrack) layerState(now time.Time) (present [numLayers]bool, bitrates [numLayers]int) {
	mono := nanotime()
	t.mu.Lock()
	defer t.mu.Unlock()
	if dt := now.Sub(t.measuredAt); dt >= measureWindow {
		for i, lr := range t.layers {
			if lr == nil {
				continue
			}
			b := lr.bytes.Load()
			// Only windows the layer was sending for the whole of count:
			// a window that contains the layer's start, a dynacast pause
			// or resume, or its stop underestimates it.
			full := lr.first.Load() != 0 && lr.first.Load() <= t.measuredMono &&
				t.changedMono <= t.measuredMono && mono-lr.last.Load() < int64(200*time.Millisecond)
			if !t.measuredAt.IsZero() && full {
				if rate := int(float64(b-lr.lastBytes) * 8 / dt.Seconds()); rate > 0 {
					t.bitrates[i] = rate // a paused layer keeps its last rate
				}
			}
			lr.lastBytes = b
		}
		t.measuredAt = now
		t.measuredMono = mono
	}
	for i, lr := range t.layers {
		if lr == nil {
			continue
		}
		active := mono-lr.last.Load() < int64(layerActiveWindow)
		pausedByDynacast := layerFromIdx(i) > t.announced
		resuming := t.resumedMono != 0 && mono-t.resumedMono < int64(layerActiveWindow)
		present[i] = active || pausedByDynacast || resuming
	}
	return present, t.bitrates
}

// addDownTrack adds dt to the fan-out set.
func (t *publishedTrack) addDownTrack(dt *DownTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	old := *t.downTracks.Load()
	next := make([]*DownTrack, len(old), len(old)+1)
	copy(next, old)
	next = append(next, dt)
	t.downTracks.Store(&next)
	return true
}

// removeDownTrack removes dt from the fan-out set; it reports whether dt was
// there.
func (t *publishedTrack) removeDownTrack(dt *DownTrack) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downTracks.Load()
	next := make([]*DownTrack, 0, len(old))
	found := false
	for _, d := range old {
		if d == dt {
			found = true
			continue
		}
		next = append(next, d)
	}
	t.downTracks.Store(&next)
	return found
}

// closeDownTracks empties the fan-out set and returns what it held.
func (t *publishedTrack) closeDownTracks() []*DownTrack {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	old := *t.downTracks.Load()
	empty := []*DownTrack{}
	t.downTracks.Store(&empty)
	return old
}

// updateDynacast recomputes the highest layer any subscriber wants and, when
// it changed, tells the publisher (via its events) to pause the layers above
// it. Layers are paused from the top, as a browser encoder can drop upper
// spatial layers cheaply and lower layers are what new subscribers start on.
func (t *publishedTrack) updateDynacast() {
	if !t.video || !t.info.Simulcast {
		return
	}
	want := LayerNone
	for _, dt := range *t.downTracks.Load() {
		if l := dt.wantedLayer(); l > want {
			want = l
		}
	}
	t.mu.Lock()
	for i := numLayers - 1; i >= 0; i-- {
		if t.expected[i] && t.layers[i] == nil {
			want = max(want, layerFromIdx(i)) // not seen yet: keep it on
			break
		}
	}
	changed := want != t.announced
	if changed {
		t.changedMono = nanotime()
	}
	if want > t.announced {
		t.resumedMono = t.changedMono
	}
	t.announced = want
	t.mu.Unlock()
	if changed {
		t.pub.events.push(Event{Kind: EventPublisherLayers, TrackID: t.info.ID, MaxLayer: want})
	}
}
