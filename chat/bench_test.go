package chat_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// benchHistories are the backends the benchmarks compare.
func benchHistories(b *testing.B, window int) map[string]func() chat.History {
	return map[string]func() chat.History{
		"memory": func() chat.History { return chat.NewMemoryHistory(window) },
		"redis":  func() chat.History { return newRedisHistory(b, requireRedis(b), window) },
	}
}

// BenchmarkHistoryAppend measures History.Append alone (sequence + store),
// from parallel goroutines into one room.
func BenchmarkHistoryAppend(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			h := benchHistories(b, 1000)[name]()
			k := chat.RoomKey{Tenant: tenantA, Room: "bench"}
			require.NoError(b, h.Seed(context.Background(), k, 0))
			data := []byte(`{"user":"u","role":"attendee","text":"a typical chat message of some length","ts":1700000000000}`)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := h.Append(context.Background(), k, &chat.Event{Type: "chat.message", Data: data}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

// BenchmarkSend measures the whole chat.send path — checks, history append,
// group-commit archive write to the embedded store, publish — from parallel
// senders into one room.
func BenchmarkSend(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			e := newEnv(b, chat.Config{}, benchHistories(b, 1000)[name]())
			data := []byte(`{"text":"a typical chat message of some length"}`)
			var n atomic.Int64
			e.send(conn(tenantA, "warm", auth.RoleAttendee, "bench"), "bench", "warm up")
			b.ReportAllocs()
			b.ResetTimer()
			b.SetParallelism(8) // gateway handlers run concurrently, one per connection
			b.RunParallel(func(pb *testing.PB) {
				c := conn(tenantA, fmt.Sprintf("u%d", n.Add(1)), auth.RoleAttendee, "bench")
				for pb.Next() {
					_, perr := e.svc.Handle(context.Background(), c, &protocol.Envelope{V: 1, Type: "chat.send", Room: "bench", Data: data})
					if perr != nil {
						b.Error(perr)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkResume500 measures OnJoin for a client that missed 500 messages:
// from recent history, and from the archive when the window is smaller.
func BenchmarkResume500(b *testing.B) {
	for _, tc := range []struct {
		name, backend string
		window        int
	}{
		{"memory/window", "memory", 1000},
		{"redis/window", "redis", 1000},
		{"memory/archive", "memory", 100},
		{"redis/archive", "redis", 100},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, chat.Config{}, benchHistories(b, tc.window)[tc.backend]())
			c := conn(tenantA, "u", auth.RoleAttendee, "bench")
			for i := range 510 {
				e.send(c, "bench", fmt.Sprintf("message %d", i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				envs, perr := e.svc.OnJoin(context.Background(), c, "bench", 10)
				if perr != nil || len(envs) != 501 {
					b.Fatalf("replay: %d envelopes, %v", len(envs), perr)
				}
			}
		})
	}
}
