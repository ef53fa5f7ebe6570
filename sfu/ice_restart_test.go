package sfu

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

var ufragLine = regexp.MustCompile(`(?m)^a=ice-ufrag:(\S+)`)

// iceUfrag returns the (first) ICE username fragment of an SDP.
func iceUfrag(t *testing.T, sdp string) string {
	t.Helper()
	m := ufragLine.FindStringSubmatch(sdp)
	require.NotNil(t, m, "no a=ice-ufrag in SDP")
	return m[1]
}

// manualSubscriber is a subscribing test peer whose offers the test answers
// itself (the shared client answers at once), to hold one in flight.
type manualSubscriber struct {
	t       *testing.T
	p       *Participant
	pc      *webrtc.PeerConnection
	offers  chan webrtc.SessionDescription
	other   chan Event // events other than offers and candidates
	packets atomic.Int64
	done    chan struct{}
	// onPacket, if set before media arrives, sees every received packet.
	onPacket func(*rtp.Packet)

	mu      sync.Mutex
	pending []webrtc.ICECandidateInit
	// unapplied counts offers received but not yet applied: candidates
	// that follow one belong to it and wait, as a browser applying
	// messages in order would have them.
	unapplied int
}

func joinManual(t *testing.T, s *SFU, room RoomID, id ParticipantID, opts JoinOptions) *manualSubscriber {
	t.Helper()
	p, err := s.Join(context.Background(), testTenant, room, id, opts)
	require.NoError(t, err)
	m := &manualSubscriber{t: t, p: p, offers: make(chan webrtc.SessionDescription, 8),
		other: make(chan Event, 256), done: make(chan struct{})}
	m.pc, err = clientAPI(t, nil).NewPeerConnection(webrtc.Configuration{})
	require.NoError(t, err)
	m.pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, mtu)
		for {
			n, _, err := remote.Read(buf)
			if err != nil {
				return
			}
			if m.onPacket != nil {
				var pkt rtp.Packet
				if pkt.Unmarshal(buf[:n]) == nil {
					m.onPacket(&pkt)
				}
			}
			m.packets.Add(1)
		}
	})
	go func() {
		defer close(m.done)
		for ev := range p.Events() {
			switch ev.Kind {
			case EventSubscriberOffer:
				m.mu.Lock()
				m.unapplied++
				m.mu.Unlock()
				m.offers <- ev.SDP
			case EventICECandidate:
				if ev.Target != TargetSubscriber {
					continue
				}
				m.mu.Lock()
				if m.unapplied > 0 {
					m.pending = append(m.pending, ev.Candidate)
				} else {
					_ = m.pc.AddICECandidate(ev.Candidate)
				}
				m.mu.Unlock()
			default:
				select {
				case m.other <- ev:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = m.pc.Close()
		p.Leave()
		<-m.done
	})
	return m
}

// nextOffer waits for the next subscriber offer.
func (m *manualSubscriber) nextOffer() webrtc.SessionDescription {
	m.t.Helper()
	select {
	case o := <-m.offers:
		return o
	case <-time.After(30 * time.Second):
		m.t.Fatal("timed out waiting for a subscriber offer")
		return webrtc.SessionDescription{}
	}
}

// answer applies offer and sends the answer (non-trickle, like the shared
// client) to the SFU.
func (m *manualSubscriber) answer(offer webrtc.SessionDescription) {
	m.t.Helper()
	require.NoError(m.t, m.tryAnswer(offer))
}

// autoAnswer answers every offer until the participant leaves (for tests
// that do not hold offers).
func (m *manualSubscriber) autoAnswer() {
	for {
		select {
		case o := <-m.offers:
			if err := m.tryAnswer(o); err != nil {
				m.t.Logf("%s: answer: %v", m.p.ID(), err)
			}
		case <-m.done:
			return
		}
	}
}

func (m *manualSubscriber) tryAnswer(offer webrtc.SessionDescription) error {
	m.mu.Lock()
	if err := m.pc.SetRemoteDescription(offer); err != nil {
		m.mu.Unlock()
		return err
	}
	m.unapplied--
	for _, c := range m.pending {
		_ = m.pc.AddICECandidate(c)
	}
	m.pending = nil
	m.mu.Unlock()
	ans, err := m.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(m.pc)
	if err := m.pc.SetLocalDescription(ans); err != nil {
		return err
	}
	<-gathered
	return m.p.HandleSubscriberAnswer(context.Background(), *m.pc.LocalDescription())
}

// waitPackets waits until more than n packets arrived in total.
func (m *manualSubscriber) waitPackets(n int64, what string) {
	m.t.Helper()
	waitFor(m.t, 30*time.Second, what, func() bool { return m.packets.Load() > n })
}

// TestRestartICE: a server-initiated ICE restart sends an offer with new
// credentials, the client's answer restarts ICE, and media keeps flowing. A
// restart asked while that offer is unanswered is queued and made by the
// next offer, with credentials new again.
func TestRestartICE(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "room", "pub", JoinOptions{}, nil)
	sub := joinManual(t, s, "room", "sub", JoinOptions{AutoSubscribe: true})
	pub.publishVideo([]layerSpec{{"", 2, 500}}, 30)

	first := sub.nextOffer()
	sub.answer(first)
	sub.waitPackets(30, "video before the restart")
	ufrag0 := iceUfrag(t, first.SDP)

	require.NoError(t, sub.p.RestartICE(context.Background()))
	restart1 := sub.nextOffer()
	ufrag1 := iceUfrag(t, restart1.SDP)
	require.NotEqual(t, ufrag0, ufrag1, "an ICE restart offer carries a new ufrag (RFC 8445 §9)")

	// A second restart while restart1 is unanswered is queued, not offered.
	require.NoError(t, sub.p.RestartICE(context.Background()))
	select {
	case o := <-sub.offers:
		t.Fatalf("an offer was sent while another was outstanding:\n%s", o.SDP)
	default:
	}
	n1 := sub.packets.Load()
	sub.answer(restart1)
	restart2 := sub.nextOffer()
	ufrag2 := iceUfrag(t, restart2.SDP)
	require.NotEqual(t, ufrag1, ufrag2, "the queued restart makes the next offer restart ICE again")
	sub.answer(restart2)
	sub.waitPackets(n1+60, "video keeps arriving after two ICE restarts")
	require.Equal(t, webrtc.PeerConnectionStateConnected, sub.pc.ConnectionState())

	// The client side really restarted too: its current ufrag is new.
	require.NotEqual(t, iceUfrag(t, first.SDP), iceUfrag(t, sub.pc.CurrentRemoteDescription().SDP))

	// No offer outstanding now: a stray answer is refused.
	require.ErrorIs(t, sub.p.HandleSubscriberAnswer(context.Background(), *sub.pc.LocalDescription()), ErrNoOffer)
}

// TestRestartICEErrors: ClientOffer participants cannot be restarted by the
// server, a left participant reports ErrClosed, a done ctx its error.
func TestRestartICEErrors(t *testing.T) {
	s := newTestSFU(t, nil)
	whep, err := s.Join(context.Background(), testTenant, "room", "whep", JoinOptions{ClientOffer: true})
	require.NoError(t, err)
	defer whep.Leave()
	require.ErrorIs(t, whep.RestartICE(context.Background()), ErrNotSupported)

	p, err := s.Join(context.Background(), testTenant, "room", "gone", JoinOptions{})
	require.NoError(t, err)
	require.NoError(t, p.RestartICE(context.Background()), "nothing to restart before the first offer")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.True(t, errors.Is(p.RestartICE(ctx), context.Canceled))
	p.Leave()
	require.ErrorIs(t, p.RestartICE(context.Background()), ErrClosed)
}
