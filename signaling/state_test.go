package signaling_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/signaling"
)

// stateSuite is the contract every State implementation meets.
func stateSuite(t *testing.T, newState func(t *testing.T) signaling.State) {
	ctx := context.Background()
	now := time.Now()
	rec := func(id string, joined int64, exp time.Duration) signaling.Record {
		return signaling.Record{
			Participant: signaling.Participant{ID: id, User: "u-" + id, Role: auth.RoleAttendee, Joined: joined},
			Gateway:     "gw", Expires: now.Add(exp).UnixMilli(), TokenRole: auth.RoleAttendee,
		}
	}
	t.Run("participants ordered and leased", func(t *testing.T) {
		s := newState(t)
		require.NoError(t, s.PutParticipant(ctx, tenantA, "r", rec("b", 2, time.Minute)))
		require.NoError(t, s.PutParticipant(ctx, tenantA, "r", rec("a", 1, time.Minute)))
		require.NoError(t, s.PutParticipant(ctx, tenantA, "r", rec("old", 0, -time.Second)))
		got, err := s.Participants(ctx, tenantA, "r", now)
		require.NoError(t, err)
		require.Len(t, got, 2)
		require.Equal(t, "a", got[0].Participant.ID)
		require.Equal(t, auth.RoleAttendee, got[0].TokenRole)
		require.NoError(t, s.RemoveParticipant(ctx, tenantA, "r", "a"))
		require.NoError(t, s.RemoveParticipant(ctx, tenantA, "r", "missing"))
		got, err = s.Participants(ctx, tenantA, "r", now)
		require.NoError(t, err)
		require.Len(t, got, 1)
	})
	t.Run("tenants and rooms apart", func(t *testing.T) {
		s := newState(t)
		require.NoError(t, s.PutParticipant(ctx, tenantA, "r", rec("a", 1, time.Minute)))
		for _, q := range []struct {
			t    string
			room string
		}{{"beta", "r"}, {"alpha", "r2"}} {
			got, err := s.Participants(ctx, tenantFor(q.t), q.room, now)
			require.NoError(t, err)
			require.Empty(t, got)
		}
		require.NoError(t, s.SetLocked(ctx, tenantA, "r", true))
		locked, err := s.Locked(ctx, tenantB, "r")
		require.NoError(t, err)
		require.False(t, locked)
	})
	t.Run("sweep returns each expired record once", func(t *testing.T) {
		s := newState(t)
		for _, id := range []string{"x1", "x2", "x3", "x4"} {
			require.NoError(t, s.PutParticipant(ctx, tenantA, "r", rec(id, 1, -time.Second)))
		}
		require.NoError(t, s.PutParticipant(ctx, tenantA, "r", rec("live", 1, time.Minute)))
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				gone, err := s.SweepExpired(ctx, tenantA, "r", now)
				assert.NoError(t, err)
				mu.Lock()
				for _, r := range gone {
					seen[r.Participant.ID]++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		require.Equal(t, map[string]int{"x1": 1, "x2": 1, "x3": 1, "x4": 1}, seen)
		got, err := s.Participants(ctx, tenantA, "r", now.Add(-time.Hour))
		require.NoError(t, err)
		require.Len(t, got, 1)
	})
	t.Run("lock and ban", func(t *testing.T) {
		s := newState(t)
		locked, err := s.Locked(ctx, tenantA, "r")
		require.NoError(t, err)
		require.False(t, locked)
		require.NoError(t, s.SetLocked(ctx, tenantA, "r", true))
		locked, err = s.Locked(ctx, tenantA, "r")
		require.NoError(t, err)
		require.True(t, locked)
		require.NoError(t, s.SetLocked(ctx, tenantA, "r", false))
		locked, err = s.Locked(ctx, tenantA, "r")
		require.NoError(t, err)
		require.False(t, locked)

		require.NoError(t, s.Ban(ctx, tenantA, "r", "mallory", time.Hour))
		require.NoError(t, s.Ban(ctx, tenantA, "r", "brief", time.Millisecond))
		banned, err := s.Banned(ctx, tenantA, "r", "mallory")
		require.NoError(t, err)
		require.True(t, banned)
		banned, err = s.Banned(ctx, tenantB, "r", "mallory")
		require.NoError(t, err)
		require.False(t, banned)
		eventually(t, "short ban over", func() bool {
			b, err := s.Banned(ctx, tenantA, "r", "brief")
			return err == nil && !b
		})
	})
}

func TestMemoryState(t *testing.T) {
	stateSuite(t, func(*testing.T) signaling.State { return signaling.NewMemoryState() })
}

func TestRedisState(t *testing.T) {
	url := requireRedis(t)
	stateSuite(t, func(t *testing.T) signaling.State {
		prefix := uniquePrefix()
		cleanupRedis(t, url, prefix)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		s, err := signaling.NewRedisState(ctx, signaling.RedisStateConfig{URL: url, Prefix: prefix}, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
