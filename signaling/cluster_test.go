package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
)

// twoGateways starts two gateways sharing e's bus and state, as two
// processes behind one load balancer would.
func twoGateways(t *testing.T, e *env, cfg signaling.Config) (*server, *server) {
	t.Helper()
	c1, c2 := cfg, cfg
	c1.GatewayID, c2.GatewayID = "gw-1", "gw-2"
	return e.Start(t, c1, newFakeMedia()), e.Start(t, c2, newFakeMedia())
}

// clusterScenario checks that participants on two gateways see one room:
// presence both ways, moderation across gateways and leaves.
func clusterScenario(t *testing.T, e *env, g1, g2 *server) {
	mod := e.Dial(t, g1, e.Token(t, tenantA, "mo", auth.RoleModerator))
	ada := e.Dial(t, g2, e.Token(t, tenantA, "ada", auth.RoleAttendee))
	jm := join(t, mod, "stage", true)
	ja := join(t, ada, "stage", true)
	require.Len(t, ja.Participants, 2, "the join reply lists the participant of the other gateway")
	waitEvent(t, mod, "presence.join", presenceOf(ja.Self.ID))

	_, err := request(t, ada, "hand.raise", "stage", nil)
	require.NoError(t, err)
	require.NotZero(t, participantIn(t, waitEvent(t, mod, "presence.update", presenceOf(ja.Self.ID))).Hand)

	_, err = request(t, mod, "mod.promote", "stage", target(ja.Self.ID))
	require.NoError(t, err)
	waitEvent(t, ada, "mod.promoted", nil)
	require.Equal(t, "speaker", participantIn(t, waitEvent(t, mod, "presence.update", presenceOf(ja.Self.ID))).Role)
	_, err = request(t, ada, "media.offer", "stage", map[string]string{"type": "offer", "sdp": "v=0\r\n"})
	require.NoError(t, err, "promotion on gateway 1 lets the participant on gateway 2 publish")

	_, err = request(t, mod, "mod.remove", "stage", target(ja.Self.ID))
	require.NoError(t, err)
	waitEvent(t, ada, "mod.removed", nil)
	waitEvent(t, mod, "presence.leave", presenceOf(ja.Self.ID))

	ja2 := join(t, ada, "stage", false)
	require.ElementsMatch(t, []string{jm.Self.ID, ja2.Self.ID}, ids(ja2.Participants))
}

// ids lists participant IDs.
func ids(ps []client.Participant) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

func TestTwoGatewaysOneRoomMemory(t *testing.T) {
	e := newEnv(t)
	g1, g2 := twoGateways(t, e, signaling.Config{})
	clusterScenario(t, e, g1, g2)
}

// TestTwoGatewaysOneRoomRedis runs the scenario with the bus and the state
// on a real Redis, each gateway with its own connections, as two processes.
func TestTwoGatewaysOneRoomRedis(t *testing.T) {
	url := requireRedis(t)
	prefix := uniquePrefix()
	cleanupRedis(t, url, prefix)
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	newBus := func() bus.Bus {
		b, err := bus.NewRedisBus(ctx, bus.RedisConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	newState := func() signaling.State {
		st, err := signaling.NewRedisState(ctx, signaling.RedisStateConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	e.Bus, e.State = newBus(), newState()
	g1 := e.Start(t, signaling.Config{GatewayID: "gw-1"}, newFakeMedia())
	e.Bus, e.State = newBus(), newState()
	g2 := e.Start(t, signaling.Config{GatewayID: "gw-2"}, newFakeMedia())
	clusterScenario(t, e, g1, g2)
}

// TestCrashedGatewayLeaseExpires: the records of a gateway that stopped
// heartbeating are swept by another gateway, which announces the leaves.
func TestCrashedGatewayLeaseExpires(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{HeartbeatInterval: 50 * time.Millisecond}, nil)
	obs := e.Dial(t, s, e.Token(t, tenantA, "obs", auth.RoleAttendee))
	join(t, obs, "main", false)
	ghost := signaling.Participant{ID: "p_ghost", User: "ghost", Role: auth.RoleAttendee, Joined: time.Now().UnixMilli()}
	require.NoError(t, e.State.PutParticipant(context.Background(), tenantA, "main", signaling.Record{
		Participant: ghost, Gateway: "gw-crashed", Expires: time.Now().Add(100 * time.Millisecond).UnixMilli(),
	}))
	ev := waitEvent(t, obs, "presence.leave", presenceOf("p_ghost"))
	require.Contains(t, string(ev.Data), `"reason":"timeout"`)
	recs, err := e.State.Participants(context.Background(), tenantA, "main", time.Now())
	require.NoError(t, err)
	require.Len(t, recs, 1, "only the live participant is left")
}
