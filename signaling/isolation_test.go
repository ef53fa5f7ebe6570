package signaling_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
)

// TestTenantIsolation: a token of tenant A cannot join, observe or moderate
// a room of tenant B, even one with the same name.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	s := e.Start(t, signaling.Config{}, newFakeMedia())
	bUser := e.Dial(t, s, e.Token(t, tenantB, "bea", auth.RoleSpeaker))
	jb := join(t, bUser, "main", false)
	aOrg := e.Dial(t, s, e.Token(t, tenantA, "org", auth.RoleOrganizer))

	t.Run("join names tenant B", func(t *testing.T) {
		_, err := aOrg.Join(ctxT(t), "main", withTenant("beta"))
		requireCode(t, err, protocol.CodeWrongTenant)
	})
	t.Run("moderation names tenant B", func(t *testing.T) {
		for _, typ := range []string{"mod.promote", "mod.demote", "mod.mute", "mod.remove", "mod.ban"} {
			_, err := request(t, aOrg, typ, "main", map[string]string{"tenant": "beta", "participant": jb.Self.ID})
			requireCode(t, err, protocol.CodeWrongTenant)
		}
	})

	ja := join(t, aOrg, "main", false) // tenant A's own "main"
	t.Run("same room name, different rooms", func(t *testing.T) {
		require.Len(t, ja.Participants, 1, "does not see tenant B's participant")
		for _, p := range ja.Participants {
			require.NotEqual(t, jb.Self.ID, p.ID)
		}
	})
	t.Run("moderation with tenant B named", func(t *testing.T) {
		for _, typ := range []string{"mod.promote", "mod.demote", "mod.mute", "mod.remove", "mod.ban", "hand.lower"} {
			_, err := request(t, aOrg, typ, "main", map[string]string{"tenant": "beta", "participant": jb.Self.ID})
			requireCode(t, err, protocol.CodeWrongTenant)
		}
		_, err := request(t, aOrg, "mod.lock", "main", map[string]any{"tenant": "beta", "locked": true})
		requireCode(t, err, protocol.CodeWrongTenant)
	})
	t.Run("moderation of tenant B's participant by ID", func(t *testing.T) {
		_, err := request(t, aOrg, "mod.remove", "main", target(jb.Self.ID))
		requireCode(t, err, protocol.CodeNoParticipant)
		_, err = request(t, aOrg, "mod.lock", "main", map[string]bool{"locked": true})
		require.NoError(t, err) // locks tenant A's room only
		bOther := e.Dial(t, s, e.Token(t, tenantB, "ben", auth.RoleAttendee))
		join(t, bOther, "main", false) // tenant B's main is not locked
	})
	t.Run("nothing observed across tenants", func(t *testing.T) {
		_, err := request(t, bUser, "hand.raise", "main", nil)
		require.NoError(t, err)
		waitEvent(t, bUser, "presence.update", presenceOf(jb.Self.ID))
		deadline := time.After(300 * time.Millisecond)
		for {
			select {
			case ev := <-aOrg.Events():
				require.NotEqual(t, jb.Self.ID, participantIn(t, ev).ID, "tenant A saw %s", ev.Type)
			case <-deadline:
				return
			}
		}
	})
}
