package relay_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/sfu/relay"
)

// publishAudio sends fake Opus every 20 ms with the RFC 6464 audio level
// extension set to level (-dBov, 0 loudest) until the test ends.
func (c *client) publishAudio(level byte) {
	c.t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
		"mic", "stream-"+string(c.p.ID()))
	require.NoError(c.t, err)
	tx, err := c.pub.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	require.NoError(c.t, err)
	offer, err := c.pub.CreateOffer(nil)
	require.NoError(c.t, err)
	gathered := webrtc.GatheringCompletePromise(c.pub)
	require.NoError(c.t, c.pub.SetLocalDescription(offer))
	<-gathered
	ans, err := c.p.HandlePublisherOffer(context.Background(), *c.pub.LocalDescription())
	require.NoError(c.t, err)
	require.NoError(c.t, c.setRemote(sfu.TargetPublisher, ans))
	var levelID uint8
	for _, e := range tx.Sender().GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			levelID = uint8(e.ID)
		}
	}
	require.NotZero(c.t, levelID, "publisher negotiated the audio level extension")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		seq, ts := uint16(rand.Uint32()), rand.Uint32()
		payload := make([]byte, 60)
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			h := rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}
			_ = h.SetExtension(levelID, []byte{0x80 | level})
			seq++
			ts += 960
			if err := tr.WriteRTP(&rtp.Packet{Header: h, Payload: payload}); err != nil {
				return
			}
		}
	}()
	c.t.Cleanup(func() {
		close(stop)
		_ = tx.Sender().Stop()
		wg.Wait()
	})
}

// TestRelayActiveSpeaker: three audio publishers on node A speak at
// different levels; node B, which receives them over a relay link, elects
// the loudest and names A's participant (not the relay link), announces the
// relayed tracks as published by A's participants, and forwards each
// track's audio level to its subscriber under the subscriber's negotiated
// extension ID. A's own subscriber sees the same.
func TestRelayActiveSpeaker(t *testing.T) {
	ctx := context.Background()
	b := bus.NewMemoryBus(bus.MemoryConfig{}, testLogger())
	t.Cleanup(func() { _ = b.Close() })
	sA, sB := newNode(t), newNode(t)
	// The relay's own API (NewAPI, as production wires it) negotiates the
	// audio level on the link and the loopback.
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(0)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	api, err := relay.NewAPI(se)
	require.NoError(t, err)
	nA, err := relay.New(ctx, relay.Config{NodeID: "node-a", API: api}, sA, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nA.Close() })
	nB, err := relay.New(ctx, relay.Config{NodeID: "node-b", API: api}, sB, b, testLogger())
	require.NoError(t, err)
	t.Cleanup(func() { _ = nB.Close() })

	const room = sfu.RoomID("stage")
	levels := map[sfu.ParticipantID]byte{"quiet": 50, "loud": 20, "medium": 35}
	listenerA := joinClientAPI(t, sA, room, "listener-a", sfu.JoinOptions{AutoSubscribe: true}, levelAPI(t))
	for id, lvl := range levels {
		joinClientAPI(t, sA, room, id, sfu.JoinOptions{}, levelAPI(t)).publishAudio(lvl)
	}
	listenerB := joinClientAPI(t, sB, room, "listener-b", sfu.JoinOptions{AutoSubscribe: true}, levelAPI(t))
	link, err := nB.Link(ctx, "node-a", testTenant, room)
	require.NoError(t, err)
	t.Cleanup(func() { _ = link.Close() })

	isLoud := func(c *client) func() bool {
		return func() bool {
			evs := c.eventsOf(sfu.EventActiveSpeaker)
			return len(evs) > 0 && evs[len(evs)-1].Speaker == "loud"
		}
	}
	waitFor(t, 30*time.Second, "B elects A's loud participant", isLoud(listenerB))
	waitFor(t, 30*time.Second, "A elects its loud participant", isLoud(listenerA))

	// B's listener is told the tracks are A's participants' (their IDs
	// still carry the relay route), never the relay link's.
	pubs := map[sfu.ParticipantID]sfu.TrackID{}
	for _, ev := range listenerB.eventsOf(sfu.EventTrackPublished) {
		require.False(t, strings.HasPrefix(string(ev.Track.Publisher), relay.ParticipantPrefix), "track %s announced as %s", ev.Track.ID, ev.Track.Publisher)
		require.True(t, strings.HasPrefix(string(ev.Track.ID), relay.ParticipantPrefix), "track %s", ev.Track.ID)
		pubs[ev.Track.Publisher] = ev.Track.ID
	}
	require.Len(t, pubs, len(levels))
	for _, ev := range listenerB.eventsOf(sfu.EventActiveSpeaker) {
		require.False(t, strings.HasPrefix(string(ev.Speaker), relay.ParticipantPrefix), "speaker %s", ev.Speaker)
	}

	// Both listeners read every publisher's level from the extension.
	for id, lvl := range levels {
		require.Contains(t, pubs, id)
		for _, c := range []struct {
			name  string
			c     *client
			track sfu.TrackID
		}{{"A", listenerA, sfu.TrackID(string(id) + "/mic")}, {"B", listenerB, pubs[id]}} {
			waitFor(t, 30*time.Second, "listener on "+c.name+" reads "+string(id)+"'s level", func() bool {
				l := c.c.level(c.track)
				return len(l) == 1 && l[0] == 0x80|lvl
			})
		}
	}

	// B keeps the loud participant as active speaker.
	time.Sleep(500 * time.Millisecond)
	evs := listenerB.eventsOf(sfu.EventActiveSpeaker)
	require.Equal(t, sfu.ParticipantID("loud"), evs[len(evs)-1].Speaker)
	roomB, ok := sB.LookupRoom(testTenant, room)
	require.True(t, ok)
	require.Equal(t, []sfu.ParticipantID{"listener-b"}, roomB.Participants(), "relay participants stay hidden")
	require.Equal(t, len(levels), link.Stats().Tracks)
}
