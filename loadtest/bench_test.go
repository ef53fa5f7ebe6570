package loadtest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkChatBotMemory runs LOADTEST_BENCH_BOTS (default 2,000) chat
// bots in one room against a gateway in a child process and reports the
// tester's memory per connected bot (live heap + stacks above the idle
// baseline, after a GC), with the chat traffic of a busy room. Run it once:
//
//	go test -run '^$' -bench ChatBotMemory -benchtime 1x ./loadtest/
func BenchmarkChatBotMemory(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("LOADTEST_BENCH_BOTS")); err == nil && v > 0 {
		n = v
	}
	stack := startStack(b, "chat")
	sc := mustScenario(b, fmt.Sprintf(`
name: memory
duration: 20s
drain: 2s
groups:
  - {name: chat, kind: chat, count: %d, rooms: [main], ramp_up: 8s, chat: {messages_per_s: 2, reactions_per_s: 2}}
slo: {errors_max: 1000000}
`, n))
	b.ResetTimer()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		opts := Options{Targets: []string{stack.url}, Scenario: sc, Tokens: stack.tokens, Log: testLog()}
		if os.Getenv("LOADTEST_PROGRESS") != "" {
			opts.Progress = os.Stderr
		}
		rep, err := Run(ctx, opts)
		cancel()
		if err != nil {
			b.Fatalf("run: %v (errors %v)", err, rep.Errors)
		}
		m := rep.Shards[0].Memory
		b.ReportMetric(float64(m.BytesPerBot), "B/bot")
		b.ReportMetric(float64(m.BotsMeasured), "bots")
		b.ReportMetric(float64(m.Goroutines)/float64(max(m.BotsMeasured, 1)), "goroutines/bot")
		b.ReportMetric(rep.Chat.LatencyMS.P99, "chat-p99-ms")
		b.ReportMetric(float64(m.StackBytes)/float64(max(m.BotsMeasured, 1)), "stack-B/bot")
	}
}
