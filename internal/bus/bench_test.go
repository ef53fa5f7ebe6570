package bus_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/bus/bustest"
)

// benchPayload is the message size the benchmarks use: a typical chat or
// presence envelope.
const benchPayload = 256

// benchBackends returns a factory per backend; Redis is skipped (or fails
// under CI=true) when unreachable.
func benchBackends(b *testing.B) map[string]func(b *testing.B) bus.Bus {
	return map[string]func(b *testing.B) bus.Bus{
		"memory": func(b *testing.B) bus.Bus {
			m := bus.NewMemoryBus(bus.MemoryConfig{}, nil)
			b.Cleanup(func() { _ = m.Close() })
			return m
		},
		"redis": func(b *testing.B) bus.Bus {
			return newRedisBus(b, requireRedis(b), uniquePrefix(b), bustest.Options{})
		},
	}
}

// BenchmarkThroughput publishes b.N messages of 256 B to one subscriber and
// stops the clock when the last one is delivered. It reports delivered msgs/s
// and how many the drop-oldest policy discarded when the subscriber fell
// behind. "serial" is one publishing goroutine; "parallel" is GOMAXPROCS×4.
func BenchmarkThroughput(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				bb := benchBackends(b)[name](b)
				benchThroughput(b, bb, mode == "parallel")
			})
		}
	}
}

func benchThroughput(b *testing.B, bb bus.Bus, parallel bool) {
	ctx := context.Background()
	ch := mustBenchChannel(b, "throughput")
	sub, err := bb.Subscribe(ctx, ch)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sub.Close() }()

	payload := make([]byte, benchPayload)
	marker := make([]byte, benchPayload)
	marker[0] = 1 // payload[0] is 0: the consumer stops at the marker

	var received atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range sub.C() {
			received.Add(1)
			if m[0] == 1 {
				return
			}
		}
	}()

	b.SetBytes(benchPayload)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if parallel {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := bb.Publish(ctx, ch, payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for range b.N {
			if err := bb.Publish(ctx, ch, payload); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := bb.Publish(ctx, ch, marker); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatal("marker never delivered")
	}
	elapsed := time.Since(start)
	b.StopTimer()

	got := received.Load() - 1 // minus the marker
	b.ReportMetric(float64(got)/elapsed.Seconds(), "delivered_msgs/s")
	b.ReportMetric(float64(int64(b.N)-got), "dropped")
}

// BenchmarkLatency measures publish→deliver latency one message at a time
// (no queueing) and reports the median and 99th percentile in microseconds.
func BenchmarkLatency(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			bb := benchBackends(b)[name](b)
			ctx := context.Background()
			ch := mustBenchChannel(b, "latency")
			sub, err := bb.Subscribe(ctx, ch)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = sub.Close() }()
			payload := make([]byte, benchPayload)
			samples := make([]time.Duration, 0, b.N)

			b.SetBytes(benchPayload)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				if err := bb.Publish(ctx, ch, payload); err != nil {
					b.Fatal(err)
				}
				if _, ok := <-sub.C(); !ok {
					b.Fatal("subscription closed")
				}
				samples = append(samples, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(micros(samples[len(samples)/2]), "p50_µs")
			b.ReportMetric(micros(samples[len(samples)*99/100]), "p99_µs")
		})
	}
}

// micros converts d to fractional microseconds.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// mustBenchChannel builds a tenant channel or stops the benchmark.
func mustBenchChannel(b *testing.B, name string) bus.Channel {
	b.Helper()
	ch, err := bus.TenantChannel(acme, name)
	if err != nil {
		b.Fatal(err)
	}
	return ch
}
