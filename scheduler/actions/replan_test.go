package actions

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// TestMoveAndCancelReplan plans three sessions, then moves one two hours
// later and cancels another after their jobs were published: the moved
// session fires at its new instants only, the cancelled one not at all.
func TestMoveAndCancelReplan(t *testing.T) {
	if testing.Short() {
		t.Skip("compressed-clock run takes ~10s")
	}
	ctx := context.Background()
	st := storetest.Open(t)
	b := bus.NewMemoryBus(bus.MemoryConfig{}, quiet)
	t.Cleanup(func() { _ = b.Close() })
	origin := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	sched := synthetic("mv", origin.Add(time.Hour), 1, 3, 30*time.Minute)
	cat, err := catalog.New(ctx, st, catalog.Options{}, quiet)
	require.NoError(t, err)
	_, err = cat.Import(ctx, tenantA, "mv", sched)
	require.NoError(t, err)
	_, err = cat.SetPublished(ctx, tenantA, "mv", true)
	require.NoError(t, err)

	clock := Scaled(origin, time.Now(), 1800) // 1 s = 30 min
	in := startInstance(t, st, b, clock, Config{
		Elector: ElectorConfig{TTL: time.Second}, PlanInterval: 100 * time.Millisecond, Horizon: 24 * time.Hour,
	})
	// Wait for the first plan: 13 jobs published.
	require.Eventually(t, func() bool { return in.runner.elector.Term() != 0 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond)

	moved, cancelled := sched.Sessions[1].GUID, sched.Sessions[2].GUID
	_, err = cat.Update(ctx, tenantA, "mv", func(s *schedule.Schedule) error {
		s.Sessions[1].Start = s.Sessions[1].Start.Add(2 * time.Hour)
		s.Sessions = slices.Delete(s.Sessions, 2, 3)
		return nil
	})
	require.NoError(t, err)
	require.NoError(t, Announce(ctx, b, tenantA, "mv"))

	tt, err := cat.Fresh(ctx, tenantA, "mv")
	require.NoError(t, err)
	want := map[string]bool{}
	for _, s := range tt.Schedule().Sessions {
		for _, p := range (Offsets{}).Plan(&s) {
			want[Key(tenantA, "mv", s.GUID, p.Kind, p.At)] = true
		}
	}
	last := origin.Add(4*time.Hour + 30*time.Minute)
	for clock.Now().Before(last) {
		time.Sleep(100 * time.Millisecond)
	}
	require.Eventually(t, func() bool {
		f, err := Fired(ctx, st, tenantA, "mv")
		return err == nil && len(f) >= len(want)
	}, 20*time.Second, 100*time.Millisecond)
	time.Sleep(500 * time.Millisecond)
	fired, err := Fired(ctx, st, tenantA, "mv")
	require.NoError(t, err)
	got := map[string]bool{}
	for _, f := range fired {
		require.NotEqual(t, cancelled, f.Session, "cancelled session fired %s", f.Action)
		require.False(t, got[f.Key], "fired twice: %s", f.Key)
		got[f.Key] = true
		if f.Session == moved {
			require.True(t, f.Planned.After(origin.Add(3*time.Hour)), "moved session fired at its old instant: %s %s", f.Action, f.Planned)
		}
	}
	require.Equal(t, want, got)
}
