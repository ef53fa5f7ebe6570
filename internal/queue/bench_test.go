package queue

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPublish measures the latency of one durable publish (store write
// or broker confirm), one publisher at a time.
func BenchmarkPublish(b *testing.B) {
	for _, be := range []backend{memoryBackend, rabbitBackend} {
		b.Run(be.name, func(b *testing.B) {
			q := be.newEnv(b, false).open(b)
			ctx := context.Background()
			job := Job{Queue: "jobs", Tenant: tenantA, Kind: "bench", Payload: make([]byte, 256)}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := q.Publish(ctx, job); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPublishConsume measures end-to-end throughput: 8 publishers and
// one consumer with 8 handlers; each op is one job published and handled.
func BenchmarkPublishConsume(b *testing.B) {
	for _, be := range []backend{memoryBackend, rabbitBackend} {
		b.Run(be.name, func(b *testing.B) {
			e := be.newEnv(b, false)
			pub, sub := e.open(b), e.open(b)
			ctx := context.Background()
			var done atomic.Int64
			consume(b, sub, "jobs", func(context.Context, Job) error {
				done.Add(1)
				return nil
			}, ConsumeOptions{Concurrency: 8})
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < b.N; i += 8 {
						if _, err := pub.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, Payload: make([]byte, 256)}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			waitFor(b, 10*time.Minute, "all jobs handled", func() bool { return done.Load() >= int64(b.N) })
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
		})
	}
}
