package actions

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

func TestKindNames(t *testing.T) {
	for _, k := range Kinds {
		got, err := ParseKind(k.String())
		require.NoError(t, err)
		require.Equal(t, k, got)
	}
	_, err := ParseKind("unknown")
	require.Error(t, err)
	_, err = ParseKind("")
	require.Error(t, err)
}

func TestPlan(t *testing.T) {
	start := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	s := &schedule.Session{GUID: "g", Start: start, Duration: 30 * time.Minute}
	tests := []struct {
		name string
		o    Offsets
		opt  bool
		want []Planned
	}{
		{"defaults", Offsets{}, false, []Planned{
			{KindReminder, start.Add(-10 * time.Minute)},
			{KindStageOpen, start.Add(-15 * time.Minute)},
			{KindRecordingStart, start.Add(-time.Minute)},
			{KindRecordingStop, start.Add(32 * time.Minute)},
			{KindQAClose, start.Add(40 * time.Minute)},
		}},
		{"opt-out", Offsets{}, true, []Planned{
			{KindReminder, start.Add(-10 * time.Minute)},
			{KindStageOpen, start.Add(-15 * time.Minute)},
			{KindQAClose, start.Add(40 * time.Minute)},
		}},
		{"disabled reminder", Offsets{Reminder: -1}, false, []Planned{
			{KindStageOpen, start.Add(-15 * time.Minute)},
			{KindRecordingStart, start.Add(-time.Minute)},
			{KindRecordingStop, start.Add(32 * time.Minute)},
			{KindQAClose, start.Add(40 * time.Minute)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := *s
			ss.RecordingOptOut = tc.opt
			got := tc.o.Plan(&ss)
			require.Equal(t, tc.want, got)
			for _, p := range got {
				require.True(t, tc.o.Has(&ss, p.Kind, p.At))
				require.False(t, tc.o.Has(&ss, p.Kind, p.At.Add(time.Minute)), "a moved session no longer has the old instant")
			}
		})
	}
}

func TestKey(t *testing.T) {
	at := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	a, b := tenant.MustParse("alpha"), tenant.MustParse("beta")
	k := Key(a, "con", "guid", KindReminder, at)
	require.True(t, strings.HasPrefix(k, "reminder:"))
	require.Equal(t, k, Key(a, "con", "guid", KindReminder, at.In(time.FixedZone("x", 3600))), "instant, not zone")
	for _, other := range []string{
		Key(b, "con", "guid", KindReminder, at),
		Key(a, "con2", "guid", KindReminder, at),
		Key(a, "con", "guid2", KindReminder, at),
		Key(a, "con", "guid", KindStageOpen, at),
		Key(a, "con", "guid", KindReminder, at.Add(time.Second)),
	} {
		require.NotEqual(t, k, other)
	}
}

func TestUserChannel(t *testing.T) {
	a := tenant.MustParse("alpha")
	tests := []struct{ subject, want string }{
		{"ada@example.org", "t:alpha:user:ada@example.org"},
		{"user-42", "t:alpha:user:user-42"},
		{"has space", "t:alpha:user:~"},
		{"~sneaky", "t:alpha:user:~"},
		{"", "t:alpha:user:~"},
		{strings.Repeat("x", 300), "t:alpha:user:~"},
	}
	for _, tc := range tests {
		ch, err := UserChannel(a, tc.subject)
		require.NoError(t, err, tc.subject)
		require.True(t, strings.HasPrefix(ch.String(), tc.want), "%q -> %q", tc.subject, ch)
	}
}

func TestScaledClock(t *testing.T) {
	origin := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	start := time.Now()
	c := Scaled(origin, start, 1800)
	at := origin.Add(time.Hour)
	require.WithinDuration(t, start.Add(2*time.Second), c.Wall(at), time.Millisecond)
	require.False(t, c.Now().Before(origin))
}
