package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling/client"
)

// errCannotPublish is a speaker joining without the right to publish.
var errCannotPublish = errors.New("loadtest: the speaker's role cannot publish in this room")

// Synthetic media parameters.
const (
	// keyframeEvery is the speaker's keyframe interval (a GOP), in frames
	// per second of video: two seconds.
	keyframeEvery = 2
	// maxPacket is the largest RTP payload a speaker sends.
	maxPacket = 1100
	// minPacket leaves room for the VP8 headers and the stamp.
	minPacket = 64
	// audioLevel is the constant RFC 6464 level sent (-dBov).
	audioLevel = 30
)

// layer is one simulcast layer a speaker sends.
type layer struct {
	rid           string // "" without simulcast
	kbps          int
	width, height int
}

// ladder splits a speaker's video bitrate into layers: q, h, f at a
// quarter, half and full size with about 6%, 21% and 73% of the bits (the
// 100/350/1250 kbit/s ratio of common 720p ladders).
func ladder(m Media) []layer {
	if m.Simulcast != nil && !*m.Simulcast {
		return []layer{{kbps: m.VideoKbps, width: m.Width, height: m.Height}}
	}
	q := max(m.VideoKbps*100/1700, 30)
	h := max(m.VideoKbps*350/1700, 60)
	return []layer{
		{rid: "q", kbps: q, width: m.Width / 4, height: m.Height / 4},
		{rid: "h", kbps: h, width: m.Width / 2, height: m.Height / 2},
		{rid: "f", kbps: max(m.VideoKbps-q-h, 100), width: m.Width, height: m.Height},
	}
}

// speaker is a speaker bot: a chat bot that publishes synthetic VP8
// (simulcast) and Opus at the group's bitrate, with the send time in every
// payload, honouring the SFU's keyframe requests and dynacast pauses.
type speaker struct {
	*wsBot
	env *mediaEnv

	mu      sync.Mutex
	pub     *publication
	pending []webrtc.ICECandidateInit
	closed  bool

	published atomic.Bool
}

// publication is one publisher connection and its senders.
type publication struct {
	pc       *webrtc.PeerConnection
	sender   *webrtc.RTPSender
	tracks   []*webrtc.TrackLocalStaticRTP
	layers   []layer
	kfWanted []atomic.Bool
	maxLayer atomic.Int32 // send layers 1..maxLayer (dynacast)
	mid      string
	midExt   uint8
	ridExt   uint8
	stop     chan struct{}
	wg       sync.WaitGroup
}

// newSpeaker returns a speaker bot on base.
func newSpeaker(base *wsBot, env *mediaEnv) *speaker {
	s := &speaker{wsBot: base, env: env}
	base.media = s
	return s
}

// beforeJoin implements mediaHooks: a new session publishes afresh.
func (s *speaker) beforeJoin(time.Time) { s.unpublish() }

// joined implements mediaHooks: publish on the new session.
func (s *speaker) joined(c *conn, j *client.Joined) error {
	if !j.CanPublish {
		s.r.rec.Error("cannot_publish")
		return errCannotPublish
	}
	if err := s.publish(c); err != nil {
		s.r.rec.Error("publish")
		return err
	}
	if !s.published.Swap(true) {
		s.r.rec.Inc(CounterPublishers)
	}
	return nil
}

// publish negotiates the publisher connection and starts sending.
func (s *speaker) publish(c *conn) error {
	m := s.g.g.Media
	pc, err := s.env.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p := &publication{pc: pc, layers: ladder(m), stop: make(chan struct{})}
	p.kfWanted = make([]atomic.Bool, len(p.layers))
	p.maxLayer.Store(int32(len(p.layers)))
	fail := func(err error) error {
		close(p.stop)
		_ = pc.Close()
		return err
	}
	stream := "lt-" + s.subject()
	for _, l := range p.layers {
		var opts []func(*webrtc.TrackLocalStaticRTP)
		if l.rid != "" {
			opts = append(opts, webrtc.WithRTPStreamID(l.rid))
		}
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", stream, opts...)
		if err != nil {
			return fail(err)
		}
		p.tracks = append(p.tracks, tr)
	}
	tx, err := pc.AddTransceiverFromTrack(p.tracks[0], webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return fail(err)
	}
	p.sender = tx.Sender()
	for _, tr := range p.tracks[1:] {
		if err := p.sender.AddEncoding(tr); err != nil {
			return fail(err)
		}
	}
	var audio *webrtc.TrackLocalStaticRTP
	var audioTx *webrtc.RTPTransceiver
	if m.Audio == nil || *m.Audio {
		audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", stream)
		if err == nil {
			audioTx, err = pc.AddTransceiverFromTrack(audio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		}
		if err != nil {
			return fail(err)
		}
	}
	room := s.room.name
	gate := &iceGate{send: func(cand webrtc.ICECandidateInit) {
		raw, _ := json.Marshal(iceData{Target: "publisher", Candidate: cand})
		_ = c.client().Send(&protocol.Envelope{V: protocol.Version, Type: "media.ice", Room: room, Data: raw})
	}}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			gate.add(cand.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			s.r.rec.Error("ice_failed")
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		err = pc.SetLocalDescription(offer)
	}
	if err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	reply, err := c.client().Request(ctx, "media.offer", room, sdpData{Type: "offer", SDP: offer.SDP})
	if err != nil {
		return fail(err)
	}
	var ans sdpData
	if err := json.Unmarshal(reply.Data, &ans); err != nil {
		return fail(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		return fail(err)
	}
	// Candidates the server trickled meanwhile were queued; from here on
	// event adds them directly.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fail(webrtc.ErrConnectionClosed)
	}
	pending := s.pending
	s.pub, s.pending = p, nil
	s.mu.Unlock()
	for _, cand := range pending {
		_ = pc.AddICECandidate(cand)
	}
	gate.release() // the server has the offer: our candidates may follow
	for _, e := range p.sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			p.midExt = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			p.ridExt = uint8(e.ID)
		}
	}
	p.mid = tx.Mid()
	for i := range p.layers {
		p.wg.Add(2)
		go p.readRTCP(i)
		go p.sendVideo(i, m.FPS)
	}
	if audio != nil {
		p.wg.Add(1)
		go p.sendAudio(audio, audioTx, m.AudioKbps)
	}
	return nil
}

// readRTCP watches layer i's RTCP for keyframe requests (PLI, FIR).
func (p *publication) readRTCP(i int) {
	defer p.wg.Done()
	for {
		var pkts []rtcp.Packet
		var err error
		if rid := p.layers[i].rid; rid != "" {
			pkts, _, err = p.sender.ReadSimulcastRTCP(rid)
		} else {
			pkts, _, err = p.sender.ReadRTCP()
		}
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.kfWanted[i].Store(true)
			}
		}
	}
}

// sendVideo sends layer i at fps until the publication stops.
func (p *publication) sendVideo(i, fps int) {
	defer p.wg.Done()
	l := p.layers[i]
	perFrame := max(l.kbps*1000/8/fps, minPacket)
	n := (perFrame + maxPacket - 1) / maxPacket
	size := max(perFrame/n, minPacket)
	buf := make([]byte, size)
	seq, ts, picture := uint16(rand.Uint32()), rand.Uint32(), uint16(rand.Uint32())&0x7fff
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	for frame := uint32(0); ; frame++ {
		select {
		case <-tick.C:
		case <-p.stop:
			return
		}
		ts += uint32(90000 / fps)
		if l.rid != "" && int32(i+1) > p.maxLayer.Load() {
			continue // paused by dynacast, as a browser would
		}
		key := frame%uint32(keyframeEvery*fps) == 0 || p.kfWanted[i].Swap(false)
		now := time.Now()
		for k := 0; k < n; k++ {
			vp8Payload(buf, k, key, picture, l.width, l.height, now, frame)
			h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: k == n-1}
			if p.midExt != 0 {
				_ = h.SetExtension(p.midExt, []byte(p.mid))
			}
			if p.ridExt != 0 && l.rid != "" {
				_ = h.SetExtension(p.ridExt, []byte(l.rid))
			}
			seq++
			if err := p.tracks[i].WriteRTP(&rtp.Packet{Header: h, Payload: buf}); err != nil {
				return
			}
		}
		picture = (picture + 1) & 0x7fff
	}
}

// sendAudio sends 20 ms Opus frames at kbps with an audio level.
func (p *publication) sendAudio(tr *webrtc.TrackLocalStaticRTP, tx *webrtc.RTPTransceiver, kbps int) {
	defer p.wg.Done()
	var levelExt uint8
	for _, e := range tx.Sender().GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelExt = uint8(e.ID)
		}
	}
	go func() { // RTCP must be read for the interceptors; nothing in it matters here
		for {
			if _, _, err := tx.Sender().ReadRTCP(); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, max(kbps*1000/8/50, 1+stampLen))
	buf[0] = 0xf8 // Opus TOC: config 31 (CELT fullband 20 ms), mono, one frame
	seq, ts := uint16(rand.Uint32()), rand.Uint32()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for frame := uint32(0); ; frame++ {
		select {
		case <-tick.C:
		case <-p.stop:
			return
		}
		putStamp(buf[1:], time.Now(), frame)
		h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}
		if levelExt != 0 {
			_ = h.SetExtension(levelExt, []byte{0x80 | audioLevel})
		}
		seq++
		ts += 960
		if err := tr.WriteRTP(&rtp.Packet{Header: h, Payload: buf}); err != nil {
			return
		}
	}
}

// event implements mediaHooks.
func (s *speaker) event(_ *conn, e *protocol.Envelope) {
	switch e.Type {
	case "media.ice":
		var d iceData
		if json.Unmarshal(e.Data, &d) != nil || d.Target != "publisher" {
			return
		}
		s.mu.Lock()
		p := s.pub
		if p == nil || p.pc.RemoteDescription() == nil {
			s.pending = append(s.pending, d.Candidate)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if err := p.pc.AddICECandidate(d.Candidate); err != nil {
			s.r.rec.Error("ice_candidate")
		}
	case "media.layers":
		var d struct {
			MaxLayer string `json:"max_layer"`
		}
		if json.Unmarshal(e.Data, &d) != nil {
			return
		}
		s.mu.Lock()
		p := s.pub
		s.mu.Unlock()
		if p == nil {
			return
		}
		if n, ok := layerCount(d.MaxLayer); ok {
			p.maxLayer.Store(n)
		}
	}
}

// unpublish stops sending and closes the publisher connection.
func (s *speaker) unpublish() {
	s.mu.Lock()
	p := s.pub
	s.pub, s.pending = nil, nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	close(p.stop)
	_ = p.pc.Close()
	p.wg.Wait()
}

// close implements mediaHooks.
func (s *speaker) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.unpublish()
}

// layerCount maps a dynacast layer name to the number of simulcast layers
// to send.
func layerCount(name string) (int32, bool) {
	switch name {
	case "none":
		return 0, true
	case "low":
		return 1, true
	case "medium":
		return 2, true
	case "high":
		return 3, true
	}
	return 0, false
}
