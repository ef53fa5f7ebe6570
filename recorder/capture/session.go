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
	"github.com/plenaryhq/plenary/sfu"
)

// Node is the part of an SFU node a recorder needs; *sfu.SFU implements it.
type Node interface {
	Join(ctx context.Context, t tenant.ID, room sfu.RoomID, p sfu.ParticipantID, opts sfu.JoinOptions) (*sfu.Participant, error)
}

var _ Node = (*sfu.SFU)(nil)

// participant is what a session does with its SFU participant.
type participant interface {
	Events() <-chan sfu.Event
	HandleSubscriberAnswer(ctx context.Context, answer webrtc.SessionDescription) error
	SetTrackPreference(id sfu.TrackID, pref sfu.TrackPreference) error
	Leave()
}

// Options describe one recording session.
type Options struct {
	// Room is the SFU room to record; required.
	Room sfu.RoomID
	// Participant is the recorder's participant ID in the room. Default
	// "recorder-" + the recording ID.
	Participant sfu.ParticipantID
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
	p    participant
	pc   *webrtc.PeerConnection

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	writers map[string]recorder.Writer // by SFU track ID
	pending []webrtc.ICECandidateInit

	stopOnce sync.Once
	stopErr  error
	done     chan struct{}
}

// Start creates the recording directory, joins the room and begins
// recording every track published in it, now and later.
func Start(ctx context.Context, node Node, t tenant.ID, opts Options) (*Session, error) {
	if opts.Room == "" || opts.Dir == "" {
		return nil, errors.New("capture: Room and Dir are required")
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Participant == "" {
		opts.Participant = sfu.ParticipantID("recorder-" + opts.Info.ID)
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
		opts.Info.Room = string(opts.Room)
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
	p, err := node.Join(ctx, t, opts.Room, opts.Participant, sfu.JoinOptions{AutoSubscribe: true})
	if err != nil {
		_ = pc.Close()
		_ = rec.Close()
		return nil, fmt.Errorf("capture: join %s: %w", opts.Room, err)
	}
	return start(t, opts, rec, pc, p), nil
}

func start(t tenant.ID, opts Options, rec *recorder.Recording, pc *webrtc.PeerConnection, p participant) *Session {
	sctx, cancel := context.WithCancel(context.Background())
	s := &Session{
		t: t, opts: opts, rec: rec, pc: pc, p: p,
		log:     opts.Log.With("tenant", t, "room", opts.Room, "recording", opts.Info.ID),
		ctx:     sctx,
		cancel:  cancel,
		writers: map[string]recorder.Writer{},
		done:    make(chan struct{}),
	}
	pc.OnTrack(s.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Debug("recorder connection", "state", st)
	})
	sessionsActive.Inc()
	s.wg.Add(1)
	go s.events()
	return s
}

// Recording is the session's recording (its manifest, its directory).
func (s *Session) Recording() *recorder.Recording { return s.rec }

// Done is closed when the session has stopped, by Stop or because the SFU
// closed the participant (the room closed, the node shut down).
func (s *Session) Done() <-chan struct{} { return s.done }

// Stop leaves the room, finishes every track file and writes the final
// manifest. It is idempotent and returns the first error met.
func (s *Session) Stop() error {
	s.stopOnce.Do(func() {
		s.p.Leave()
		// Under mu, so that no track goroutine registers after Wait starts.
		s.mu.Lock()
		s.cancel()
		s.mu.Unlock()
		err := s.pc.Close()
		s.wg.Wait()
		s.stopErr = errors.Join(err, s.rec.Close())
		sessionsActive.Dec()
		close(s.done)
		s.log.Info("recording stopped", "tracks", len(s.rec.Manifest().Tracks))
	})
	return s.stopErr
}

// events relays the SFU's events: offers are answered, candidates applied,
// speakers recorded, video tracks asked for their top layer.
func (s *Session) events() {
	defer s.wg.Done()
	for ev := range s.p.Events() {
		switch ev.Kind {
		case sfu.EventSubscriberOffer:
			if err := s.answer(ev.SDP); err != nil {
				s.log.Warn("recorder could not answer the SFU", "err", err)
			}
		case sfu.EventICECandidate:
			if ev.Target == sfu.TargetSubscriber {
				s.addCandidate(ev.Candidate)
			}
		case sfu.EventActiveSpeaker:
			if ev.Speaker != "" {
				s.rec.SetActiveSpeaker(string(ev.Speaker))
			}
		case sfu.EventTrackPublished:
			if ev.Track.Kind == webrtc.RTPCodecTypeVideo {
				// A recording wants the best layer there is, whatever a
				// viewer's window size would suggest.
				_ = s.p.SetTrackPreference(ev.Track.ID, sfu.TrackPreference{MaxLayer: sfu.LayerHigh})
			}
		case sfu.EventTrackUnpublished:
			s.closeTrack(string(ev.Track.ID))
		}
	}
	// The SFU closed the participant: the room or the node is gone.
	go func() { _ = s.Stop() }()
}

// answer applies an SDP offer from the SFU and returns the answer once ICE
// gathering is complete (candidates then travel inside the SDP).
func (s *Session) answer(offer webrtc.SessionDescription) error {
	s.mu.Lock()
	if err := s.pc.SetRemoteDescription(offer); err != nil {
		s.mu.Unlock()
		return err
	}
	for _, c := range s.pending {
		_ = s.pc.AddICECandidate(c)
	}
	s.pending = nil
	s.mu.Unlock()
	ans, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	select {
	case <-gathered:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	return s.p.HandleSubscriberAnswer(s.ctx, *s.pc.LocalDescription())
}

func (s *Session) addCandidate(c webrtc.ICECandidateInit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pc.RemoteDescription() == nil {
		s.pending = append(s.pending, c)
		return
	}
	if err := s.pc.AddICECandidate(c); err != nil {
		s.log.Debug("candidate rejected", "err", err)
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
