package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/signaling"
)

// RecorderPreference is what a recorder asks of every video track: the top
// simulcast layer pinned, whatever the node's estimate of the path to the
// recorder or a viewer's window size would suggest (sfu/pin.go). A path
// that cannot carry it loses packets, which are NACKed, rather than
// recording a lower layer.
var RecorderPreference = signaling.TrackPreference{Pin: "high"}

// callTimeout bounds one call to the media node (an answer, a candidate, a
// preference): over the bus RPC a call to a dead node would otherwise wait
// for the RPC client's own timeout.
const callTimeout = 15 * time.Second

// Options describe one recording session.
type Options struct {
	// Room is the room to record; required.
	Room string
	// Participant is the recorder's participant ID in the room. Default
	// "recorder-" + the recording ID. The recorder joins hidden: other
	// participants are not told of it.
	Participant string
	// Dir is the recording directory to create; required.
	Dir string
	// Info describes the recording (ID required; Tenant is set from the
	// session's tenant).
	Info recorder.Info
	// API builds the peer connection; default NewAPI with a zero
	// SettingEngine.
	API *webrtc.API
	// Log receives the session's logs. Default slog.Default().
	Log *slog.Logger
	// Now is the recording's clock. Default time.Now.
	Now func() time.Time
}

// Session records one room. Stop ends it.
type Session struct {
	t    tenant.ID
	opts Options
	log  *slog.Logger
	rec  *recorder.Recording
	node string // the media node's ID, for logs
	ms   signaling.MediaSession
	pc   *webrtc.PeerConnection

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	writers map[string]recorder.Writer // by track ID
	// Trickle ICE (RFC 8838) with the node: our candidates wait until our
	// first answer reached it, the node's wait until its offer is applied
	// (both may race the SDP).
	answered bool
	outbox   []webrtc.ICECandidateInit
	inbox    []webrtc.ICECandidateInit

	stopOnce sync.Once
	stopErr  error
	done     chan struct{}
}

// Start creates the recording directory, joins the room on the node sel
// places the recorder on (hidden, subscribed to every track) and begins
// recording every track published in it, now and later. The node may run
// in this process (signaling/sfunode) or in another (signaling/sfurpc):
// the recorder's own peer connection receives the media either way.
func Start(ctx context.Context, sel signaling.NodeSelector, t tenant.ID, opts Options) (*Session, error) {
	if opts.Room == "" || opts.Dir == "" {
		return nil, errors.New("capture: Room and Dir are required")
	}
	if sel == nil {
		return nil, errors.New("capture: no node selector")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Participant == "" {
		opts.Participant = "recorder-" + opts.Info.ID
	}
	if opts.API == nil {
		api, err := NewAPI(webrtc.SettingEngine{})
		if err != nil {
			return nil, err
		}
		opts.API = api
	}
	opts.Info.Tenant = t
	if opts.Info.Room == "" {
		opts.Info.Room = opts.Room
	}
	node, err := sel.Select(ctx, t, opts.Room, opts.Participant)
	if err != nil {
		return nil, fmt.Errorf("capture: place recorder of %s: %w", opts.Room, err)
	}
	rec, err := recorder.Create(opts.Dir, opts.Info, recorder.Options{Now: opts.Now, Log: opts.Log})
	if err != nil {
		return nil, err
	}
	pc, err := opts.API.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = rec.Close()
		return nil, fmt.Errorf("capture: peer connection: %w", err)
	}
	ms, err := node.Join(ctx, t, opts.Room, opts.Participant, signaling.MediaJoinOptions{AutoSubscribe: true, Hidden: true})
	if err != nil {
		_ = pc.Close()
		_ = rec.Close()
		return nil, fmt.Errorf("capture: join %s on node %s: %w", opts.Room, node.ID(), err)
	}
	return start(t, opts, rec, pc, node.ID(), ms), nil
}

func start(t tenant.ID, opts Options, rec *recorder.Recording, pc *webrtc.PeerConnection, node string, ms signaling.MediaSession) *Session {
	sctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		t: t, opts: opts, rec: rec, pc: pc, node: node, ms: ms,
		log:     opts.Log.With("tenant", t, "room", opts.Room, "recording", opts.Info.ID, "node", node),
		ctx:     sctx,
		cancel:  cancel,
		writers: map[string]recorder.Writer{},
		done:    make(chan struct{}),
	}
	pc.OnTrack(s.onTrack)
	pc.OnICECandidate(s.onLocalCandidate)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("recorder connection", "state", st)
	})
	sessionsActive.Inc()
	s.wg.Add(1)
	go s.events()
	s.log.Info("recorder joined", "participant", opts.Participant)
	return s
}

// Recording is the session's recording (its manifest, its directory).
func (s *Session) Recording() *recorder.Recording { return s.rec }

// Node is the ID of the media node the recorder joined.
func (s *Session) Node() string { return s.node }

// Done is closed when the session has stopped, by Stop or because the node
// closed the participant (the room closed, the node shut down or stopped
// answering).
func (s *Session) Done() <-chan struct{} { return s.done }

// Stop leaves the room, finishes every track file and writes the final
// manifest. It is idempotent and returns the first error met.
func (s *Session) Stop() error {
	s.stopOnce.Do(func() {
		// Under mu, so that no track goroutine registers after Wait starts.
		s.mu.Lock()
		s.cancel()
		s.mu.Unlock()
		s.ms.Leave()
		err := s.pc.Close()
		s.wg.Wait()
		s.stopErr = errors.Join(err, s.rec.Close())
		sessionsActive.Dec()
		close(s.done)
		s.log.Info("recording stopped", "tracks", len(s.rec.Manifest().Tracks))
	})
	return s.stopErr
}

// events handles the node's events one at a time: offers are answered,
// candidates applied, speakers recorded, video tracks asked for their top
// layer.
func (s *Session) events() {
	defer s.wg.Done()
	for ev := range s.ms.Events() {
		switch ev.Kind {
		case signaling.MediaSubscriberOffer:
			if err := s.answer(ev.SDP); err != nil && s.ctx.Err() == nil {
				s.log.Warn("recorder could not answer the node", "err", err)
			}
		case signaling.MediaICECandidate:
			if ev.Target == signaling.TargetSubscriber {
				s.addRemoteCandidate(ev.Candidate)
			}
		case signaling.MediaActiveSpeaker:
			if ev.Speaker != "" {
				s.rec.SetActiveSpeaker(ev.Speaker)
			}
		case signaling.MediaTrackPublished:
			if ev.Track.Kind == "video" {
				if err := s.ms.SetPreference(ev.Track.ID, RecorderPreference); err != nil && s.ctx.Err() == nil {
					s.log.Debug("top layer not asked for", "track", ev.Track.ID, "err", err)
				}
			}
		case signaling.MediaTrackUnpublished:
			s.closeTrack(ev.Track.ID)
		case signaling.MediaNodeDraining:
			// The node closes the participant when its drain ends; the
			// session stops then, with what it recorded.
			s.log.Warn("media node draining: the recording ends when the node closes")
		}
	}
	// The node closed the participant: the room or the node is gone.
	if s.ctx.Err() == nil {
		s.log.Warn("media node closed the recorder's session")
	}
	go func() { _ = s.Stop() }()
}

// answer applies a subscriber offer from the node and sends the answer;
// candidates trickle on both sides.
func (s *Session) answer(offer signaling.SessionDescription) error {
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return fmt.Errorf("apply offer: %w", err)
	}
	s.mu.Lock()
	in := s.inbox
	s.inbox = nil
	s.mu.Unlock()
	for _, c := range in {
		if err := s.pc.AddICECandidate(c); err != nil {
			s.log.Debug("candidate rejected", "err", err)
		}
	}
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	if err := s.pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("apply answer: %w", err)
	}
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	if err := s.ms.SubscriberAnswer(ctx, signaling.SessionDescription{Type: "answer", SDP: ans.SDP}); err != nil {
		return fmt.Errorf("send answer: %w", err)
	}
	s.mu.Lock()
	s.answered = true
	out := s.outbox
	s.outbox = nil
	s.mu.Unlock()
	for _, c := range out {
		s.sendCandidate(c)
	}
	return nil
}

// addRemoteCandidate applies a node candidate, or keeps it until the offer
// it belongs to is applied.
func (s *Session) addRemoteCandidate(c signaling.ICECandidate) {
	init := webrtc.ICECandidateInit{Candidate: c.Candidate, SDPMid: c.SDPMid,
		SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment}
	// Only this goroutine (events) sets the remote description, so the
	// check cannot go stale before the candidate is queued or applied.
	if s.pc.RemoteDescription() == nil {
		s.mu.Lock()
		s.inbox = append(s.inbox, init)
		s.mu.Unlock()
		return
	}
	if err := s.pc.AddICECandidate(init); err != nil {
		s.log.Debug("candidate rejected", "err", err)
	}
}

// onLocalCandidate trickles one of our candidates to the node, or keeps it
// until the node has our answer.
func (s *Session) onLocalCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		return // gathering complete
	}
	init := c.ToJSON()
	s.mu.Lock()
	if !s.answered {
		s.outbox = append(s.outbox, init)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.sendCandidate(init)
}

func (s *Session) sendCandidate(c webrtc.ICECandidateInit) {
	ctx, cancel := context.WithTimeout(s.ctx, callTimeout)
	defer cancel()
	err := s.ms.AddICECandidate(ctx, signaling.TargetSubscriber, signaling.ICECandidate{Candidate: c.Candidate,
		SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment})
	if err != nil && s.ctx.Err() == nil {
		s.log.Debug("candidate not sent", "err", err)
	}
}

// onTrack records one subscribed track until its stream ends.
func (s *Session) onTrack(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	kind := recorder.KindAudio
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		kind = recorder.KindVideo
	}
	ssrc := uint32(remote.SSRC())
	w, err := s.rec.AddTrack(recorder.TrackSpec{
		Kind:        kind,
		Codec:       remote.Codec().MimeType,
		Participant: remote.StreamID(), // the SFU sets it to the publisher's ID
		SourceID:    remote.ID(),
		StreamID:    remote.StreamID(),
		RequestKeyframe: func() {
			_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		},
	})
	if err != nil {
		s.log.Warn("track not recorded", "track", remote.ID(), "codec", remote.Codec().MimeType, "err", err)
		return
	}
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		_ = w.Close()
		return
	}
	if old := s.writers[remote.ID()]; old != nil {
		_ = old.Close() // the same track renegotiated: its old stream ended
	}
	s.writers[remote.ID()] = w
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.log.Info("recording track", "track", remote.ID(), "kind", kind, "codec", remote.Codec().MimeType)
	if kind == recorder.KindVideo {
		// Start from a keyframe without waiting for the next periodic one.
		_ = s.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	}
	for {
		pkt, _, err := remote.ReadRTP()
		if err != nil {
			break
		}
		if err := w.WriteRTP(pkt); err != nil {
			if !errors.Is(err, recorder.ErrClosed) {
				s.log.Error("track write failed; track no longer recorded", "track", remote.ID(), "err", err)
			}
			break
		}
	}
	if err := w.Close(); err != nil {
		s.log.Warn("track close", "track", remote.ID(), "err", err)
	}
}

func (s *Session) closeTrack(id string) {
	s.mu.Lock()
	w := s.writers[id]
	delete(s.writers, id)
	s.mu.Unlock()
	if w != nil {
		_ = w.Close()
	}
}
