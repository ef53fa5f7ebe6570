package loadtest

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/loadtest/rtpseq"
	"github.com/plenaryhq/plenary/signaling/client"
)

// viewer is a viewer bot: a chat bot that also subscribes to the room's
// media. It decodes nothing; per received track it counts packets with an
// rtpseq.Tracker (loss, lateness, jitter), reads the send time the
// speaker bot put into each payload (end-to-end latency) and times the
// first complete video frame from its join.
type viewer struct {
	*wsBot
	env *mediaEnv

	joinedAt   atomic.Int64 // Unix ns when the current join was sent
	subscribed atomic.Bool
	firstFrame atomic.Bool

	mu      sync.Mutex
	pc      *webrtc.PeerConnection // subscriber connection
	gate    *iceGate               // its local candidates
	pending []webrtc.ICECandidateInit
	closed  bool
}

// newViewer returns a viewer bot on base.
func newViewer(base *wsBot, env *mediaEnv) *viewer {
	v := &viewer{wsBot: base, env: env}
	base.media = v
	return v
}

// sdpData is the payload of media.offer and media.answer.
type sdpData struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
}

// iceData is the payload of media.ice.
type iceData struct {
	Target    string                  `json:"target"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

// joined implements mediaHooks: the server offers the subscriber
// connection on its own.
func (v *viewer) joined(*conn, *client.Joined) error { return nil }

// beforeJoin implements mediaHooks: a new session gets a new subscriber
// connection, offered by the server.
func (v *viewer) beforeJoin(start time.Time) {
	v.joinedAt.Store(start.UnixNano())
	v.mu.Lock()
	old := v.pc
	v.pc, v.pending = nil, nil
	v.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
}

// event implements mediaHooks.
func (v *viewer) event(c *conn, e *protocol.Envelope) {
	switch e.Type {
	case "media.offer":
		var d sdpData
		if json.Unmarshal(e.Data, &d) != nil {
			return
		}
		v.answer(c, d.SDP)
	case "media.ice":
		var d iceData
		if json.Unmarshal(e.Data, &d) != nil || d.Target != "subscriber" {
			return
		}
		v.mu.Lock()
		pc := v.pc
		if pc == nil || pc.RemoteDescription() == nil {
			v.pending = append(v.pending, d.Candidate)
			v.mu.Unlock()
			return
		}
		v.mu.Unlock()
		if err := pc.AddICECandidate(d.Candidate); err != nil {
			v.r.rec.Error("ice_candidate")
		}
	case "media.track":
		v.prefs(c, e.Data)
	}
}

// prefs asks for the group's layer cap on a newly published video track.
func (v *viewer) prefs(c *conn, data []byte) {
	layer := v.g.g.Media.MaxLayer
	if layer == "" || layer == "high" {
		return
	}
	var d struct {
		State string `json:"state"`
		Track struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"track"`
	}
	if json.Unmarshal(data, &d) != nil || d.State != "published" || d.Track.Kind != "video" {
		return
	}
	raw, _ := json.Marshal(map[string]string{"track": d.Track.ID, "max_layer": layer})
	_ = c.client().Send(&protocol.Envelope{V: protocol.Version, Type: "media.prefs", Room: v.room.name, Data: raw})
}

// answer applies the server's offer to the subscriber connection (created
// on the first offer) and sends the answer.
func (v *viewer) answer(c *conn, offer string) {
	pc, err := v.subscriber(c)
	if err != nil {
		v.r.rec.Error("peer_connection")
		return
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		v.r.rec.Error("sdp_offer")
		return
	}
	v.mu.Lock()
	pending := v.pending
	v.pending = nil
	v.mu.Unlock()
	for _, cand := range pending {
		_ = pc.AddICECandidate(cand)
	}
	ans, err := pc.CreateAnswer(nil)
	if err == nil {
		err = pc.SetLocalDescription(ans)
	}
	if err != nil {
		v.r.rec.Error("sdp_answer")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if _, err := c.client().Request(ctx, "media.answer", v.room.name, sdpData{Type: "answer", SDP: ans.SDP}); err != nil {
		v.r.rec.Error("answer_" + errCode(err))
		return
	}
	v.mu.Lock()
	gate := v.gate
	v.mu.Unlock()
	if gate != nil {
		gate.release()
	}
}

// subscriber returns the subscriber connection, creating it.
func (v *viewer) subscriber(c *conn) (*webrtc.PeerConnection, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pc != nil {
		return v.pc, nil
	}
	if v.closed {
		return nil, webrtc.ErrConnectionClosed
	}
	pc, err := v.env.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	room := v.room.name
	gate := &iceGate{send: func(cand webrtc.ICECandidateInit) {
		raw, _ := json.Marshal(iceData{Target: "subscriber", Candidate: cand})
		_ = c.client().Send(&protocol.Envelope{V: protocol.Version, Type: "media.ice", Room: room, Data: raw})
	}}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			gate.add(cand.ToJSON())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			v.r.rec.Error("ice_failed")
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { go v.read(t) })
	v.pc, v.gate = pc, gate
	return pc, nil
}

// read counts the packets of one received track until it ends.
func (v *viewer) read(t *webrtc.TrackRemote) {
	rec := v.r.rec
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	tr := rtpseq.New(t.Codec().ClockRate, v.env.jitterBuffer)
	rec.AddTrack(tr)
	if !v.subscribed.Swap(true) {
		rec.Inc(CounterSubscribers)
	}
	video = video || strings.HasPrefix(strings.ToLower(t.Codec().MimeType), "video/")
	for {
		p, _, err := t.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		if len(p.Payload) == 0 {
			tr.Fill(p.SequenceNumber) // padding: holds a sequence number, no media
			continue
		}
		sent := findStamp(p.Payload)
		out := tr.Push(p.SequenceNumber, p.Timestamp, now, sent)
		if out != rtpseq.OnTime && out != rtpseq.Late {
			continue
		}
		if !sent.IsZero() {
			rec.Observe(MetricMediaLatency, now.Sub(sent))
		}
		if video && p.Marker && !v.firstFrame.Load() {
			if at := v.joinedAt.Load(); at > 0 && !v.firstFrame.Swap(true) {
				rec.Observe(MetricFirstFrame, time.Duration(now.UnixNano()-at))
			}
		}
	}
}

// close implements mediaHooks.
func (v *viewer) close() {
	v.mu.Lock()
	pc := v.pc
	v.pc, v.closed = nil, true
	v.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}
