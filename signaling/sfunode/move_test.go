package sfunode_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
)

// ordered is a NodeSelector over several nodes: the first one not avoided.
type ordered []*sfunode.Node

var _ signaling.NodeAvoider = ordered(nil)

func (o ordered) Select(ctx context.Context, t tenant.ID, room, participant string) (signaling.MediaNode, error) {
	return o.SelectAvoiding(ctx, t, room, participant, nil)
}

func (o ordered) SelectAvoiding(_ context.Context, _ tenant.ID, _, _ string, avoid []string) (signaling.MediaNode, error) {
	for _, n := range o {
		if !slices.Contains(avoid, n.ID()) {
			return n, nil
		}
	}
	return nil, signaling.ErrNoMedia
}

// newSFU starts an SFU on loopback.
func newSFU(t *testing.T) *sfu.SFU {
	t.Helper()
	s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
		AllocationInterval: 100 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond}, st.Log())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMoveToAnotherNode: a publisher and a subscriber on node-1; node-1
// drains (SIGTERM's path) or dies; both are moved to node-2 by the gateway
// (media.moved), rebuild their peer connections, the publisher publishes
// again, and media flows again; a track the subscriber unsubscribed from
// stays unsubscribed. The longest interval between two video
// packets at the subscriber is the frozen time it saw.
func TestMoveToAnotherNode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason string
		leave  func(t *testing.T, s *sfu.SFU)
	}{
		{"drain", "node_draining", func(t *testing.T, s *sfu.SFU) {
			ctx, cancel := context.WithTimeout(context.Background(), st.Timeout)
			defer cancel()
			require.NoError(t, s.Drain(ctx), "every participant left the draining node")
		}},
		{"failure", "node_failed", func(t *testing.T, s *sfu.SFU) { require.NoError(t, s.Close()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := st.NewEnv(t)
			s1, s2 := newSFU(t), newSFU(t)
			sel := ordered{sfunode.New("node-1", s1), sfunode.New("node-2", s2)}
			gw := e.Start(t, signaling.Config{}, sel)
			ctx := st.Ctx(t)
			ada := joinMedia(t, e, gw, e.Token(t, st.TenantA, "ada", auth.RoleSpeaker), "stage")
			bob := joinMedia(t, e, gw, e.Token(t, st.TenantA, "bob", auth.RoleAttendee), "stage")
			require.Equal(t, "node-1", ada.j.Media.Node)
			require.Equal(t, "node-1", bob.j.Media.Node)
			require.NoError(t, ada.peer.Publish(ctx, peerOpts(30, true)))
			requireResumed(t, bob, ada, "video", 30)
			requireResumed(t, bob, ada, "audio", 30)
			before, _ := bob.peer.MaxGap(ada.j.Self.ID, "video")
			// bob's choice not to hear ada follows it to node-2.
			_, err := st.Request(t, bob.c, "media.unsubscribe", "stage", map[string]string{"track": ada.j.Self.ID + "/mic"})
			require.NoError(t, err)

			start := time.Now()
			tc.leave(t, s1)
			for _, m := range []*member{ada, bob} {
				st.Eventually(t, m.j.Self.Name+" moved", func() bool { n, _ := m.peer.Moves(); return n == 1 })
				_, node := m.peer.Moves()
				require.Equal(t, "node-2", node)
			}
			requireResumed(t, bob, ada, "video", 30)
			requireSilent(t, bob, ada, "audio", "video")
			gap, back := bob.peer.MaxGap(ada.j.Self.ID, "video")
			require.Greater(t, gap, before, "the move interrupted the video")
			t.Logf("%s (%s): video frozen at the subscriber for %v (longest gap before the move %v); first packet from node-2 %v after the node was told to leave",
				tc.name, tc.reason, gap.Round(time.Millisecond), before.Round(time.Millisecond), back.Sub(start).Round(time.Millisecond))
			require.Zero(t, s1.Load().Participants, "nobody is left on node-1")
			require.Equal(t, 2, s2.Load().Participants)
		})
	}
}

// TestRestartICE: media.restart makes the SFU offer new ICE credentials
// on the subscriber connection; the peer answers and media keeps flowing.
func TestRestartICE(t *testing.T) {
	e := st.NewEnv(t)
	s := e.Start(t, signaling.Config{}, newNode(t))
	ctx := st.Ctx(t)
	ada := joinMedia(t, e, s, e.Token(t, st.TenantA, "ada", auth.RoleSpeaker), "stage")
	bob := joinMedia(t, e, s, e.Token(t, st.TenantA, "bob", auth.RoleAttendee), "stage")
	require.NoError(t, ada.peer.PublishVideo(ctx, 30))
	requireResumed(t, bob, ada, "video", 30)
	ufrag := bob.peer.SubscriberICEUfrag()
	require.NotEmpty(t, ufrag)

	require.NoError(t, bob.peer.RestartICE(ctx))
	st.Eventually(t, "a subscriber offer with new ICE credentials", func() bool {
		u := bob.peer.SubscriberICEUfrag()
		return u != "" && u != ufrag
	})
	requireResumed(t, bob, ada, "video", 60)
}
