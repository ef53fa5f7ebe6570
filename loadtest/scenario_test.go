package loadtest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestShippedScenarios(t *testing.T) {
	files, err := filepath.Glob("scenarios/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3)
	want := map[string]struct {
		bots, rooms int
	}{
		"keynote":         {20_000, 1},
		"parallel-tracks": {9_000, 30},
		"join-storm":      {20_002, 1},
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := LoadScenario(f)
			require.NoError(t, err)
			require.NotEmpty(t, s.Description)
			if w, ok := want[s.Name]; ok {
				require.Equal(t, w.bots, s.Bots())
				require.Len(t, s.Rooms(), w.rooms)
			}
		})
	}
	s, err := LoadScenario("scenarios/parallel-tracks.yaml")
	require.NoError(t, err)
	require.Equal(t, "track-01", s.Rooms()[0])
	require.Equal(t, "track-30", s.Rooms()[29])
}

func TestScenarioDefaults(t *testing.T) {
	s, err := ParseScenario([]byte(`
duration: 1m
groups:
  - {name: s, kind: speaker, count: 1, rooms: [a]}
  - {name: v, kind: viewer, count: 2, rooms: [a]}
  - {name: c, kind: chat, count: 3, rooms: [a]}
`))
	require.NoError(t, err)
	require.Equal(t, DefaultDrain, s.Drain.D())
	require.Equal(t, DefaultJitterBuffer, s.JitterBuffer.D())
	require.Equal(t, "speaker", s.Groups[0].Role)
	require.Equal(t, DefaultVideoKbps, s.Groups[0].Media.VideoKbps)
	require.True(t, *s.Groups[0].Media.Simulcast)
	require.Equal(t, "high", s.Groups[1].Media.MaxLayer)
	require.Equal(t, "attendee", s.Groups[2].Role)
	require.Equal(t, DefaultMessageBytes, s.Groups[2].Chat.MessageBytes)
	require.NotNil(t, s.SLO.ErrorsMax, "errors_max defaults to 0")
	require.Zero(t, *s.SLO.ErrorsMax)
	require.Equal(t, 6, s.Bots())
	require.Equal(t, time.Minute, s.Duration.D())
}

// TestScenarioErrors checks that bad scenarios are refused with a message
// that names the setting and says what to do.
func TestScenarioErrors(t *testing.T) {
	const ok = "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 3, rooms: [a]}\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "", []string{"empty"}},
		{"unknown top-level key", ok + "durration: 5m\n", []string{"durration", "not found"}},
		{"unknown group key", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 3, rooms: [a], rampup: 5s}\n", []string{"rampup"}},
		{"bad duration", "duration: five minutes\ngroups: []\n", []string{"write it like 90s"}},
		{"no duration", "groups:\n  - {name: c, kind: chat, count: 3, rooms: [a]}\n", []string{"duration is required"}},
		{"no groups", "duration: 1m\n", []string{"at least one group"}},
		{"bad kind", "duration: 1m\ngroups:\n  - {name: c, kind: lurker, count: 3, rooms: [a]}\n", []string{"use chat, viewer or speaker"}},
		{"zero count", "duration: 1m\ngroups:\n  - {name: c, kind: chat, rooms: [a]}\n", []string{"groups[0] (c): count 0"}},
		{"no rooms", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1}\n", []string{"rooms: list the rooms"}},
		{"both room forms", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a], room_prefix: t-, room_count: 3}\n", []string{"not both"}},
		{"bad room name", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [\"main stage\"]}\n", []string{`room "main stage"`}},
		{"ramp too long", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a], ramp_up: 2m}\n", []string{"reach the end of the run"}},
		{"duplicate names", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a]}\n  - {name: c, kind: chat, count: 1, rooms: [a]}\n", []string{"must be unique"}},
		{"attendee speaker", "duration: 1m\ngroups:\n  - {name: s, kind: speaker, count: 1, rooms: [a], role: attendee}\n", []string{"cannot publish"}},
		{"media on chat", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a], media: {video_kbps: 100}}\n", []string{"viewer and speaker groups only"}},
		{"bad layer", "duration: 1m\ngroups:\n  - {name: v, kind: viewer, count: 1, rooms: [a], media: {max_layer: ultra}}\n", []string{"low, medium or high"}},
		{"negative rate", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a], chat: {messages_per_s: -1}}\n", []string{"chat.messages_per_s -1"}},
		{"vote pct", "duration: 1m\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a], chat: {poll_vote_pct: 120}}\n", []string{"0 to 100"}},
		{"slo pct", ok + "slo: {media_loss_pct: 150}\n", []string{"slo.media_loss_pct 150"}},
		{"unknown slo", ok + "slo: {join_p95_ms: 100}\n", []string{"join_p95_ms"}},
		{"poll interval", ok + "polls: {every: 1s}\n", []string{"polls.every 1s"}},
		{"two documents", ok + "---\n" + ok, []string{"one scenario per file"}},
		{"several problems at once", "duration: 1m\ngroups:\n  - {name: C!, kind: chat, count: 0, rooms: [a]}\n", []string{"name \"C!\"", "count 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseScenario([]byte(tc.yaml))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalidScenario)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestParseShard(t *testing.T) {
	s, err := ParseShard("1/2")
	require.NoError(t, err)
	require.Equal(t, Shard{1, 2}, s)
	require.Equal(t, "1/2", s.String())
	for _, bad := range []string{"", "2/2", "-1/2", "1", "a/b", "0/0"} {
		_, err := ParseShard(bad)
		require.ErrorIs(t, err, ErrInvalidOptions, bad)
	}
	require.Equal(t, "0/1", Shard{}.String())
}

func TestWSURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8080":           "ws://h:8080/v1/ws",
		"https://h":               "wss://h/v1/ws",
		"ws://h:1/custom":         "ws://h:1/custom",
		" ws://127.0.0.1:9/v1/ws": "ws://127.0.0.1:9/v1/ws",
	} {
		got, err := wsURL(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	for _, bad := range []string{"h:8080", "ftp://h", ""} {
		_, err := wsURL(bad)
		require.Error(t, err, bad)
		require.True(t, strings.Contains(err.Error(), "target"))
	}
}
