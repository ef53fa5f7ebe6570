package sfunode_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/client/peer"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
)

// newNode starts an SFU on loopback and wraps it.
func newNode(t *testing.T) signaling.NodeSelector {
	t.Helper()
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
		AllocationInterval: 100 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond}, st.Log())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return signaling.SingleNode{Node: sfunode.New("local", s)}
}

// member is a client with its media peer; events other than media.* are
// forwarded to events.
type member struct {
	c      *client.Client
	j      *client.Joined
	peer   *peer.Peer
	events chan *protocol.Envelope
}

// joinMedia connects tok to s and joins room with media.
func joinMedia(t *testing.T, e *st.Env, s *st.Server, tok, room string) *member {
	t.Helper()
	api, err := peer.NewAPI()
	require.NoError(t, err)
	c := e.Dial(t, s, tok)
	j := st.Join(t, c, room, true)
	p, err := peer.New(c, room, api)
	require.NoError(t, err)
	m := &member{c: c, j: j, peer: p, events: make(chan *protocol.Envelope, 1024)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-c.Events():
				handled, err := p.HandleEvent(ctx, ev)
				if err != nil && ctx.Err() == nil {
					t.Logf("%s: media event %s: %v", j.Self.Name, ev.Type, err)
				}
				if !handled {
					select {
					case m.events <- ev:
					default:
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		p.Close()
	})
	return m
}

// waitFor returns the next event of typ ("": any) from m.
func (m *member) waitFor(t *testing.T, typ string) *protocol.Envelope {
	t.Helper()
	deadline := time.After(st.Timeout)
	for {
		select {
		case ev := <-m.events:
			if typ == "" || ev.Type == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("%s: timed out waiting for %s", m.j.Self.Name, typ)
			return nil
		}
	}
}

// receives reports whether m has received at least n packets of a video
// track published by participant from.
func (m *member) receives(from string, n int64) bool {
	for k, v := range m.peer.Received() {
		if strings.HasPrefix(k, from+"/") && v >= n {
			return true
		}
	}
	return false
}

// requireFlow waits until to receives media from from, and keeps receiving.
func requireFlow(t *testing.T, to *member, from *member) {
	t.Helper()
	st.Eventually(t, to.j.Self.Name+" receives "+from.j.Self.Name, func() bool { return to.receives(from.j.Self.ID, 20) })
}

func TestMediaThroughGatewayAndSFU(t *testing.T) {
	e := st.NewEnv(t)
	s := e.Start(t, signaling.Config{}, newNode(t))
	ctx := st.Ctx(t)
	ada := joinMedia(t, e, s, e.Token(t, st.TenantA, "ada", auth.RoleSpeaker), "stage")
	bob := joinMedia(t, e, s, e.Token(t, st.TenantA, "bob", auth.RoleSpeaker), "stage")
	att := joinMedia(t, e, s, e.Token(t, st.TenantA, "att", auth.RoleAttendee), "stage")
	mod := e.Dial(t, s, e.Token(t, st.TenantA, "mod", auth.RoleModerator))
	st.Join(t, mod, "stage", false)

	require.NoError(t, ada.peer.PublishVideo(ctx, 30))
	require.NoError(t, bob.peer.PublishVideo(ctx, 30))
	requireFlow(t, ada, bob)
	requireFlow(t, bob, ada)
	requireFlow(t, att, ada)
	requireFlow(t, att, bob)

	t.Run("attendee cannot publish", func(t *testing.T) {
		err := att.peer.PublishVideo(ctx, 30)
		st.RequireCode(t, err, protocol.CodeForbidden)
	})
	t.Run("invalid SDP is refused, connection and media unaffected", func(t *testing.T) {
		_, err := st.Request(t, ada.c, "media.offer", "stage", map[string]string{"type": "offer", "sdp": "v=0\r\nthis is not sdp\r\n"})
		st.RequireCode(t, err, protocol.CodeInvalidSDP)
		before := ada.peer.Received()
		st.Eventually(t, "media keeps flowing", func() bool {
			for k, v := range ada.peer.Received() {
				if v > before[k]+10 {
					return true
				}
			}
			return false
		})
	})
	t.Run("promotion takes effect live", func(t *testing.T) {
		_, err := st.Request(t, mod, "mod.promote", "stage", map[string]string{"participant": att.j.Self.ID})
		require.NoError(t, err)
		att.waitFor(t, "mod.promoted")
		require.NoError(t, att.peer.PublishVideo(ctx, 30))
		requireFlow(t, ada, att)
		requireFlow(t, bob, att)
	})
	t.Run("demotion ends the published tracks; the demoted still receives", func(t *testing.T) {
		_, err := st.Request(t, mod, "mod.demote", "stage", map[string]string{"participant": att.j.Self.ID})
		require.NoError(t, err)
		att.waitFor(t, "mod.demoted")
		requireSilentOf(t, ada, att, "video", bob, "video")
		requireResumed(t, att, ada, "video", 30)
		requireResumed(t, att, bob, "video", 30)
		err = att.peer.PublishVideo(ctx, 30)
		st.RequireCode(t, err, protocol.CodeForbidden)
	})
}

func TestResumeKeepsMediaFlowing(t *testing.T) {
	e := st.NewEnv(t)
	s := e.Start(t, signaling.Config{}, newNode(t))
	ctx := st.Ctx(t)
	ada := joinMedia(t, e, s, e.Token(t, st.TenantA, "ada", auth.RoleSpeaker), "stage")
	bob := joinMedia(t, e, s, e.Token(t, st.TenantA, "bob", auth.RoleSpeaker), "stage")
	require.NoError(t, ada.peer.PublishVideo(ctx, 30))
	requireFlow(t, bob, ada)

	ada.c.Drop()
	seen := bob.peer.Received()
	st.Eventually(t, "media flows while the WebSocket is down", func() bool {
		for k, v := range bob.peer.Received() {
			if strings.HasPrefix(k, ada.j.Self.ID+"/") && v > seen[k]+30 {
				return true
			}
		}
		return false
	})
	require.NoError(t, ada.c.Resume(ctx))
	require.NoError(t, bob.peer.PublishVideo(ctx, 30))
	requireFlow(t, ada, bob) // renegotiation after the resume works too
}

// TestTwoGatewaysOneRedisMedia: a participant on each of two gateways
// (separate Redis connections for bus and state, as two processes) sees the
// other in presence, and media flows between them through the shared SFU.
func TestTwoGatewaysOneRedisMedia(t *testing.T) {
	url := st.RequireRedis(t)
	prefix := st.UniquePrefix()
	st.CleanupRedis(t, url, prefix)
	e := st.NewEnv(t)
	node := newNode(t)
	start := func(id string) *st.Server {
		ctx := st.Ctx(t)
		b, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		state, err := signaling.NewRedisState(ctx, signaling.RedisStateConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = state.Close() })
		e.Bus, e.State = b, state
		return e.Start(t, signaling.Config{GatewayID: id}, node)
	}
	g1, g2 := start("gw-1"), start("gw-2")
	ada := joinMedia(t, e, g1, e.Token(t, st.TenantA, "ada", auth.RoleSpeaker), "stage")
	bob := joinMedia(t, e, g2, e.Token(t, st.TenantA, "bob", auth.RoleSpeaker), "stage")
	require.Len(t, bob.j.Participants, 2, "bob's join reply lists ada from the other gateway")
	for { // ada sees its own presence.join first, then bob's
		if st.ParticipantIn(t, ada.waitFor(t, "presence.join")).ID == bob.j.Self.ID {
			break
		}
	}

	ctx := st.Ctx(t)
	require.NoError(t, ada.peer.Publish(ctx, peerOpts(30, true)))
	require.NoError(t, bob.peer.PublishVideo(ctx, 30))
	requireFlow(t, ada, bob)
	requireFlow(t, bob, ada)

	t.Run("a moderator on one gateway mutes a participant of the other at the SFU", func(t *testing.T) {
		mod := joinMedia(t, e, g2, e.Token(t, st.TenantA, "mod", auth.RoleModerator), "stage")
		requireResumed(t, bob, ada, "audio", 20)
		_, err := st.Request(t, mod.c, "mod.mute", "stage", map[string]any{"participant": ada.j.Self.ID})
		require.NoError(t, err)
		ada.waitFor(t, "mod.muted")
		bob.waitTrack(t, "muted", ada.j.Self.ID, "audio")
		requireSilent(t, bob, ada, "audio", "video")
		_, err = st.Request(t, ada.c, "media.mute", "stage", map[string]any{"muted": false})
		require.NoError(t, err)
		requireResumed(t, bob, ada, "audio", 20)
	})
}

// peerOpts is what a test peer publishes: video at fps (0: none) and
// audio.
func peerOpts(fps int, audio bool) peer.PublishOptions {
	return peer.PublishOptions{VideoFPS: fps, Audio: audio}
}
