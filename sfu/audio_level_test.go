package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"
)

// levelWatch records what a subscriber's Pion peer sees of the header
// extensions of one received audio track.
type levelWatch struct {
	mu         sync.Mutex
	levelID    uint8 // the subscriber's negotiated audio level ID, 0 if none
	negotiated map[uint8]bool
	packets    int
	level      []byte // audio level extension of the last packet
	stray      []uint8
}

func (w *levelWatch) snapshot() (packets int, levelID uint8, level []byte, stray []uint8) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets, w.levelID, append([]byte(nil), w.level...), append([]uint8(nil), w.stray...)
}

// watchLevels replaces c's subscriber OnTrack (call it before anything is
// subscribed) with one that reads each packet's header extensions.
func watchLevels(c *client) *levelWatch {
	w := &levelWatch{negotiated: map[uint8]bool{}}
	c.sub.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		w.mu.Lock()
		for _, e := range recv.GetParameters().HeaderExtensions {
			w.negotiated[uint8(e.ID)] = true
			if e.URI == sdp.AudioLevelURI {
				w.levelID = uint8(e.ID)
			}
		}
		w.mu.Unlock()
		for {
			pkt, _, err := remote.ReadRTP()
			if err != nil {
				return
			}
			w.mu.Lock()
			w.packets++
			for _, id := range pkt.GetExtensionIDs() {
				if !w.negotiated[id] {
					w.stray = append(w.stray, id)
				}
			}
			w.level = nil
			if w.levelID != 0 {
				w.level = append(w.level[:0], pkt.GetExtension(w.levelID)...)
			}
			w.mu.Unlock()
		}
	})
	return w
}

// noLevelAPI is a client API that does not negotiate the audio level
// extension.
func noLevelAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	require.NoError(t, me.RegisterDefaultCodecs())
	reg := &interceptor.Registry{}
	require.NoError(t, webrtc.RegisterDefaultInterceptors(me, reg))
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// TestAudioLevelForwarded: the publisher's RFC 6464 audio level reaches a
// subscriber that negotiated the extension, under the subscriber's own ID
// (not the publisher's); a subscriber that did not negotiate it gets no
// extension it did not negotiate.
func TestAudioLevelForwarded(t *testing.T) {
	s := newTestSFU(t, nil)
	with := joinClient(t, s, "room", "with", JoinOptions{AutoSubscribe: true}, nil)
	wWith := watchLevels(with)
	without := joinClientAPI(t, s, "room", "without", JoinOptions{AutoSubscribe: true}, noLevelAPI(t))
	wWithout := watchLevels(without)

	speaker := joinClient(t, s, "room", "speaker", JoinOptions{}, nil)
	speaker.publishAudio(33)
	var pubID uint8
	for _, tx := range speaker.pub.GetTransceivers() {
		for _, e := range tx.Sender().GetParameters().HeaderExtensions {
			if e.URI == sdp.AudioLevelURI {
				pubID = uint8(e.ID)
			}
		}
	}
	require.NotZero(t, pubID, "publisher negotiated the audio level")

	waitFor(t, 30*time.Second, "subscriber reads the level", func() bool {
		n, _, level, _ := wWith.snapshot()
		return n > 20 && len(level) == 1 && level[0] == 0x80|33
	})
	_, subID, _, stray := wWith.snapshot()
	require.NotZero(t, subID)
	require.NotEqual(t, pubID, subID, "the test must see the extension renumbered (publisher %d, subscriber %d)", pubID, subID)
	require.Empty(t, stray, "extension IDs the subscriber did not negotiate")

	waitFor(t, 30*time.Second, "subscriber without the extension receives audio", func() bool {
		n, _, _, _ := wWithout.snapshot()
		return n > 20
	})
	_, noID, level, stray := wWithout.snapshot()
	require.Zero(t, noID)
	require.Nil(t, level)
	require.Empty(t, stray, "extension IDs the subscriber did not negotiate")
}

// TestRelayParticipantSpeaks: a relay link's republisher (Hidden, Relay)
// publishes on behalf of the participant named by its stream ID: its track
// is announced as that participant's, and that participant can be the
// active speaker, while a hidden publisher that is no relay never is.
func TestRelayParticipantSpeaks(t *testing.T) {
	s := newTestSFU(t, nil)
	listener := joinClient(t, s, "room", "listener", JoinOptions{AutoSubscribe: true}, nil)
	local := joinClient(t, s, "room", "local", JoinOptions{}, nil)
	local.publishAudio(40)
	relay := joinClient(t, s, "room", "relay~a>b>1", JoinOptions{Hidden: true, Relay: true}, nil)
	relay.publishAudio(15) // stream ID "stream-relay~a>b>1": the participant it speaks for

	const remote = ParticipantID("stream-relay~a>b>1")
	waitFor(t, 30*time.Second, "remote participant is the active speaker", func() bool {
		evs := listener.eventsOf(EventActiveSpeaker)
		return len(evs) > 0 && evs[len(evs)-1].Speaker == remote
	})
	var publishers []ParticipantID
	for _, ev := range listener.eventsOf(EventTrackPublished) {
		publishers = append(publishers, ev.Track.Publisher)
	}
	require.ElementsMatch(t, []ParticipantID{"local", remote}, publishers)
	room, ok := s.LookupRoom(testTenant, "room")
	require.True(t, ok)
	require.Equal(t, []ParticipantID{"listener", "local"}, room.Participants(), "the relay stays hidden")
}
