package queue

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
)

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// memoryBackend runs the suite on MemoryQueue instances sharing one store
// database per env, as several processes sharing one store would.
var memoryBackend = backend{
	name: "memory",
	newEnv: func(t testing.TB, fastLease bool) *env {
		s := storetest.Open(t)
		cfg := MemoryConfig{PollInterval: 100 * time.Millisecond}
		if fastLease {
			cfg.LeaseTTL = 1500 * time.Millisecond
		}
		return &env{
			open: func(t testing.TB) Queue {
				t.Helper()
				q, err := NewMemoryQueue(context.Background(), s, cfg, testLogger())
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, q.Close()) })
				return q
			},
			kill: func(q Queue) { q.(*MemoryQueue).crashed.Store(true) },
		}
	},
}

func TestMemoryConformance(t *testing.T) {
	runConformance(t, memoryBackend)
}

// TestMemorySurvivesRestart publishes jobs, shuts the store down, opens it
// again from the same data directory and finds every job, delayed ones
// included.
func TestMemorySurvivesRestart(t *testing.T) {
	if storetest.ExternalURI() != "" {
		t.Skip("restart test needs the embedded store")
	}
	ctx := context.Background()
	cfg := store.Config{DataDir: t.TempDir(), Database: "restart_" + storetest.RandomSuffix()}
	open := func() (*store.Store, *MemoryQueue) {
		s, err := store.Open(ctx, cfg, testLogger())
		require.NoError(t, err)
		q, err := NewMemoryQueue(ctx, s, MemoryConfig{PollInterval: 100 * time.Millisecond}, testLogger())
		require.NoError(t, err)
		return s, q
	}

	s, q := open()
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		job := Job{Queue: "jobs", Tenant: tenantA, Payload: []byte{byte(i)}}
		if i == 4 {
			job.NotBefore = time.Now().Add(500 * time.Millisecond)
		}
		id, err := q.Publish(ctx, job)
		require.NoError(t, err)
		want[id] = true
	}
	require.NoError(t, q.Close())
	require.NoError(t, q.Close(), "Close is idempotent")
	require.NoError(t, s.Close())

	s, q = open()
	t.Cleanup(func() {
		require.NoError(t, q.Close())
		require.NoError(t, s.DropDatabase(ctx))
		require.NoError(t, s.Close())
	})
	var r recorder
	consume(t, q, "jobs", r.handle, ConsumeOptions{Concurrency: 2})
	waitFor(t, 30*time.Second, "all jobs after restart", func() bool { return r.len() == len(want) })
	jobs, _ := r.snapshot()
	for _, j := range jobs {
		require.True(t, want[j.ID], "unexpected job %s", j.ID)
		require.Equal(t, tenantA, j.Tenant)
	}
}

// TestMemoryIdempotencyKey checks that a key is deduplicated while its job is
// pending and after it succeeded.
func TestMemoryIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	q := memoryBackend.newEnv(t, false).open(t)
	job := Job{Queue: "jobs", Tenant: tenantA, IdempotencyKey: "session-7/open-stage"}
	id1, err := q.Publish(ctx, job)
	require.NoError(t, err)
	id2, err := q.Publish(ctx, job)
	require.NoError(t, err)
	require.Equal(t, id1, id2)
	// An explicit different ID with the same key is still the same job.
	job.ID = "explicit-id"
	id3, err := q.Publish(ctx, job)
	require.NoError(t, err)
	require.Equal(t, id1, id3)

	var r recorder
	stop := consume(t, q, "jobs", r.handle, ConsumeOptions{})
	waitFor(t, 30*time.Second, "the job", func() bool { return r.len() == 1 })
	stop()
	// Wait for the acknowledgement to be written, then publish again.
	mq := q.(*MemoryQueue)
	waitFor(t, 30*time.Second, "ack flushed", func() bool { return mq.acks.count("jobs") == 0 })
	id4, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, IdempotencyKey: "session-7/open-stage"})
	require.NoError(t, err)
	require.Equal(t, id1, id4, "a key is remembered after its job succeeded")

	consume(t, q, "jobs", r.handle, ConsumeOptions{})
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 1, r.len(), "the job ran once")
}

// TestMemoryClosed checks that a closed queue refuses work.
func TestMemoryClosed(t *testing.T) {
	ctx := context.Background()
	q := memoryBackend.newEnv(t, false).open(t)
	require.NoError(t, q.(*MemoryQueue).Close())
	_, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, q.Consume(ctx, "jobs", func(context.Context, Job) error { return nil }, ConsumeOptions{}), ErrClosed)
}

// TestMemoryGarbageCollection checks that a finished job's claim is deleted
// only by the second collector run that finds it obsolete, while the claim of
// a job still pending is kept.
func TestMemoryGarbageCollection(t *testing.T) {
	ctx := context.Background()
	q := memoryBackend.newEnv(t, false).open(t).(*MemoryQueue)
	done, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA})
	require.NoError(t, err)
	var r recorder
	stop := consume(t, q, "jobs", func(ctx context.Context, j Job) error {
		if j.ID != done {
			<-ctx.Done() // keep the second job claimed
			return ctx.Err()
		}
		return r.handle(ctx, j)
	}, ConsumeOptions{Concurrency: 2})
	waitFor(t, 30*time.Second, "first job", func() bool { return r.len() == 1 })
	waitFor(t, 30*time.Second, "ack flushed", func() bool { return q.acks.count("jobs") == 0 })
	held, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA})
	require.NoError(t, err)
	countClaims := func(job string) int64 {
		n, err := q.claims.CountDocuments(ctx, bson.D{{Key: "job", Value: job}})
		require.NoError(t, err)
		return n
	}
	waitFor(t, 30*time.Second, "second job claimed", func() bool { return countClaims(held) == 1 })

	obsolete, err := q.gc(ctx, nil, 0)
	require.NoError(t, err)
	require.Equal(t, int64(1), countClaims(done), "first run only marks")
	_, err = q.gc(ctx, obsolete, 0)
	require.NoError(t, err)
	require.Equal(t, int64(0), countClaims(done), "second run deletes the finished job's claim")
	require.Equal(t, int64(1), countClaims(held), "a pending job's claim is kept")
	stop()
}
