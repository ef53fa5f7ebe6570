package loadtest

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// testLog logs the tester at debug with LOADTEST_TEST_LOG set.
func testLog() *slog.Logger {
	if os.Getenv(envStackLog) != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// mustScenario parses a scenario for a test.
func mustScenario(t testing.TB, yaml string) *Scenario {
	t.Helper()
	sc, err := ParseScenario([]byte(yaml))
	require.NoError(t, err)
	return sc
}

// requireNoLeak waits for the goroutine count to come back to about
// before (Pion and the signaling client stop theirs asynchronously).
func requireNoLeak(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left (before %d):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireConsistent checks the invariants every report must satisfy.
func requireConsistent(t testing.TB, rep *Report) {
	t.Helper()
	require.Equal(t, rep.Chat.Expected, rep.Chat.Delivered+rep.Chat.Missing, "delivered + missing = expected")
	p := rep.Media.Packets
	require.Equal(t, p.Expected, p.OnTime+p.Late+p.Lost, "every expected packet is on time, late or lost")
	var total uint64
	for _, n := range rep.Errors {
		total += n
	}
	require.Equal(t, rep.ErrorsTotal, total)
}

// TestRunChat runs chat bots against a real gateway with chat, Q&A, polls,
// reactions and injected drops: everything sent is acknowledged, every
// room event reaches every bot exactly once, resumes included.
func TestRunChat(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway process")
	}
	stack := startStack(t, "chat")
	sc := mustScenario(t, `
name: chat-it
duration: 8s
drain: 2s
polls: {every: 5s, options: 3}
groups:
  - name: chat
    kind: chat
    count: 30
    rooms: [hall-a, hall-b]
    ramp_up: 1s
    drops_per_min: 40
    chat: {messages_per_s: 8, reactions_per_s: 2, questions_per_s: 1, upvotes_per_s: 2, poll_vote_pct: 60}
slo:
  join_p99_ms: 5000
  chat_delivery_p99_ms: 5000
  chat_missing_pct: 0
  errors_max: 0
`)
	dir := t.TempDir()
	before := runtime.NumGoroutine()
	var progress bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, Options{Targets: []string{stack.url}, Scenario: sc, ReportDir: dir, Tokens: stack.tokens,
		Log: testLog(), Progress: &progress})
	require.NoError(t, err, "errors: %v", rep.Errors)
	requireConsistent(t, rep)
	require.Equal(t, 30, rep.Bots)
	require.Equal(t, uint64(30), rep.BotsJoined)
	require.Greater(t, rep.Chat.Sent, uint64(20))
	require.Equal(t, rep.Chat.Sent, rep.Chat.Acked, "every message acknowledged")
	require.Greater(t, rep.Chat.Received, rep.Chat.Sent, "messages reach the other bots of the room")
	require.Greater(t, rep.Chat.Expected, uint64(0))
	require.Zero(t, rep.Chat.Missing)
	require.Zero(t, rep.Chat.Duplicates, "resume delivers no duplicate")
	require.Greater(t, rep.Chat.LatencyMS.Count, uint64(0))
	require.Greater(t, rep.Chat.Questions+rep.Chat.Upvotes+rep.Chat.Reactions, uint64(0))
	require.Greater(t, rep.Chat.Polls, uint64(0))
	require.Greater(t, rep.Chat.Votes, uint64(0))
	require.Equal(t, rep.Drops, rep.Reconnects, "every drop came back")
	require.Contains(t, progress.String(), "bots 30/30 up")
	requireNoLeak(t, before)
	require.FileExists(t, filepath.Join(dir, ReportJSON))
	require.FileExists(t, filepath.Join(dir, ReportHTML))
	t.Logf("sent %d, received %d, expected %d, join p99 %v ms, chat p99 %v ms, drops %d, reconnects %d",
		rep.Chat.Sent, rep.Chat.Received, rep.Chat.Expected, rep.JoinMS.P99, rep.Chat.LatencyMS.P99, rep.Drops, rep.Reconnects)
}

// TestRunShardsMerge runs one scenario as two shards against the same
// gateway and merges them: the merged report covers every bot and is
// consistent.
func TestRunShardsMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway process")
	}
	stack := startStack(t, "chat")
	sc := mustScenario(t, `
name: shards-it
duration: 5s
drain: 2s
groups:
  - {name: chat, kind: chat, count: 21, rooms: [main], ramp_up: 1s, chat: {messages_per_s: 6}}
slo: {chat_missing_pct: 0}
`)
	dirs := []string{filepath.Join(t.TempDir(), "s0"), filepath.Join(t.TempDir(), "s1")}
	errs := make(chan error, 2)
	for i := range dirs {
		go func() {
			_, err := Run(context.Background(), Options{Targets: []string{stack.url}, Scenario: sc, ReportDir: dirs[i],
				Shard: Shard{Index: i, Count: 2}, Tokens: stack.tokens, RunID: "shared", Log: testLog()})
			errs <- err
		}()
	}
	for range dirs {
		require.NoError(t, <-errs)
	}
	rep, err := Merge(dirs...)
	require.NoError(t, err)
	requireConsistent(t, rep)
	require.Equal(t, 21, rep.Bots)
	require.Equal(t, uint64(21), rep.BotsJoined)
	require.Zero(t, rep.Chat.Missing)
	require.Greater(t, rep.Chat.Received, rep.Chat.Sent, "messages reach the bots of both shards")
	require.True(t, rep.Pass)
}

// TestRunBrokenTarget kills the server in the middle of a run: the tester
// keeps going, counts the failures, reports, and returns ErrSLOFailed (the
// command exits 1) in bounded time instead of hanging or crashing.
func TestRunBrokenTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway process")
	}
	stack := startStack(t, "chat")
	sc := mustScenario(t, `
name: broken-it
duration: 8s
drain: 1s
groups:
  - {name: chat, kind: chat, count: 20, rooms: [main], ramp_up: 1s, chat: {messages_per_s: 5}}
`)
	killer := time.AfterFunc(3*time.Second, stack.kill) // mid-run
	defer killer.Stop()
	start := time.Now()
	rep, err := Run(context.Background(), Options{Targets: []string{stack.url}, Scenario: sc, ReportDir: t.TempDir(),
		Tokens: stack.tokens, Log: testLog()})
	elapsed := time.Since(start)
	require.Error(t, err)
	require.True(t, errors.Is(err, ErrSLOFailed), "err: %v", err)
	require.Equal(t, 1, ExitCode(err))
	require.NotNil(t, rep)
	require.Greater(t, rep.ErrorsTotal, uint64(0))
	require.Equal(t, uint64(20), rep.Drops, "every bot saw its connection drop")
	require.Zero(t, rep.Reconnects)
	require.False(t, rep.SLO["errors_max"].Pass)
	requireConsistent(t, rep)
	require.Less(t, elapsed, 8*time.Second+time.Second+closeTimeout, "no hang")
	t.Logf("errors %v after %s", rep.Errors, elapsed.Round(time.Millisecond))
}

// TestRunUnreachableTarget runs against a port nobody listens on.
func TestRunUnreachableTarget(t *testing.T) {
	sc := mustScenario(t, `
duration: 2s
drain: 1s
groups:
  - {name: chat, kind: chat, count: 5, rooms: [main]}
`)
	rep, err := Run(context.Background(), Options{Targets: []string{"ws://127.0.0.1:1/v1/ws"}, Scenario: sc,
		Tokens: TokenFunc(func(context.Context, TokenRequest) (string, error) { return "t", nil })})
	require.ErrorIs(t, err, ErrSLOFailed)
	require.Greater(t, rep.Errors["network"], uint64(0))
	require.Zero(t, rep.BotsJoined)
	require.Equal(t, uint64(5), rep.Counters[CounterBotsFailed.String()])
}

func TestRunOptionErrors(t *testing.T) {
	sc := mustScenario(t, "duration: 1s\ngroups:\n  - {name: c, kind: chat, count: 1, rooms: [a]}\n")
	tok := TokenFunc(func(context.Context, TokenRequest) (string, error) { return "t", nil })
	tests := []struct {
		name string
		opts Options
		want error
	}{
		{"no scenario", Options{Targets: []string{"ws://h/v1/ws"}, Tokens: tok}, ErrInvalidOptions},
		{"no target", Options{Scenario: sc, Tokens: tok}, ErrInvalidOptions},
		{"bad target", Options{Scenario: sc, Tokens: tok, Targets: []string{"h:1"}}, ErrInvalidOptions},
		{"no tokens", Options{Scenario: sc, Targets: []string{"ws://h/v1/ws"}}, ErrNoTokens},
		{"bad shard", Options{Scenario: sc, Tokens: tok, Targets: []string{"ws://h/v1/ws"}, Shard: Shard{3, 2}}, ErrInvalidOptions},
		{"bad run id", Options{Scenario: sc, Tokens: tok, Targets: []string{"ws://h/v1/ws"}, RunID: "a b"}, ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.opts)
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, 2, ExitCode(err))
		})
	}
}

// TestRunMedia runs a speaker publishing simulcast VP8 and Opus and viewers
// subscribing through the SFU: viewers get first frames, end-to-end
// latency from the payload stamps, and loss from sequence numbers.
func TestRunMedia(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway and SFU process")
	}
	stack := startStack(t, "media")
	sc := mustScenario(t, `
name: media-it
duration: 10s
drain: 1s
groups:
  - {name: speakers, kind: speaker, count: 1, rooms: [stage], media: {video_kbps: 600}}
  - {name: viewers, kind: viewer, count: 3, rooms: [stage], start_after: 1s, ramp_up: 1s}
  - {name: lowres, kind: viewer, count: 1, rooms: [stage], start_after: 1s, media: {max_layer: low}}
  - {name: chat, kind: chat, count: 4, rooms: [stage], chat: {messages_per_s: 2}}
slo:
  first_frame_p99_ms: 5000
  media_loss_pct: 5
  chat_missing_pct: 0
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := runtime.NumGoroutine()
	rep, err := Run(ctx, Options{Targets: []string{stack.url}, Scenario: sc, ReportDir: t.TempDir(), Tokens: stack.tokens, Log: testLog()})
	defer requireNoLeak(t, before)
	require.NoError(t, err, "errors %v, slo %+v", rep.Errors, rep.SLO)
	requireConsistent(t, rep)
	require.Equal(t, uint64(1), rep.Media.Publishers)
	require.Equal(t, uint64(4), rep.Media.Subscribers)
	require.GreaterOrEqual(t, rep.Media.Tracks, uint64(8), "audio and video for every viewer")
	require.Equal(t, uint64(4), rep.Media.FirstFrameMS.Count)
	require.Greater(t, rep.Media.LatencyMS.Count, uint64(1000))
	require.Greater(t, rep.Media.Packets.Expected, uint64(1000))
	t.Logf("first frame p50 %v ms, latency p50 %v p99 %v ms, jitter p99 %v ms, loss %v%% (%+v)",
		rep.Media.FirstFrameMS.P50, rep.Media.LatencyMS.P50, rep.Media.LatencyMS.P99, rep.Media.JitterMS.P99, rep.Media.LossPct, rep.Media.Packets)
}

// TestRunInterrupted cancels a run midway (Ctrl-C): it stops early, still
// reports, and says it was interrupted.
func TestRunInterrupted(t *testing.T) {
	sc := mustScenario(t, "duration: 1m\ngroups:\n  - {name: chat, kind: chat, count: 3, rooms: [main]}\n")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(500*time.Millisecond, cancel)
	start := time.Now()
	rep, err := Run(ctx, Options{Targets: []string{"ws://127.0.0.1:1/v1/ws"}, Scenario: sc, ReportDir: t.TempDir(),
		Tokens: TokenFunc(func(context.Context, TokenRequest) (string, error) { return "t", nil })})
	require.ErrorContains(t, err, "interrupted")
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, ExitCode(err))
	require.NotNil(t, rep)
	require.Less(t, time.Since(start), 20*time.Second)
}
