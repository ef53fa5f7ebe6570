package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// env is one isolated backend (a fresh store database, or a fresh RabbitMQ
// prefix) from which a test opens as many queue instances as it needs; the
// instances share state as separate processes would.
type env struct {
	// open returns a new queue instance on the env's backend, closed when the
	// test ends.
	open func(t testing.TB) Queue
	// kill makes q behave as if its process died: it stops writing,
	// acknowledging and heartbeating.
	kill func(q Queue)
}

// backend makes envs. fastLease asks for a short lease, so that a killed
// instance's jobs come back quickly (only the store-backed queue has one).
type backend struct {
	name   string
	newEnv func(t testing.TB, fastLease bool) *env
}

// Tenants used by the suite.
var (
	tenantA = tenant.MustParse("acme")
	tenantB = tenant.MustParse("globex")
)

// suiteQueues are the logical queues the suite uses; backends clean them up.
var suiteQueues = []string{"jobs", "alpha", "beta", "delayed", "failing", "crash", "stop"}

// fastRetry keeps retry tests short.
var fastRetry = Policy{MaxAttempts: 3, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}

// runConformance runs the contract every Queue implementation must meet.
func runConformance(t *testing.T, b backend) {
	t.Run("PublishConsume", func(t *testing.T) { testPublishConsume(t, b) })
	t.Run("TenThousandExactlyOnce", func(t *testing.T) { testTenThousand(t, b) })
	t.Run("CrashedConsumerJobRedelivered", func(t *testing.T) { testCrashRedelivery(t, b) })
	t.Run("StoppedConsumerJobRedelivered", func(t *testing.T) { testStopRedelivery(t, b) })
	t.Run("RetryCarriesAttemptAndError", func(t *testing.T) { testRetry(t, b) })
	t.Run("DeadLetterAfterMaxAttempts", func(t *testing.T) { testDeadLetter(t, b, false) })
	t.Run("PermanentErrorDeadLettersAtOnce", func(t *testing.T) { testDeadLetter(t, b, true) })
	t.Run("DelayedJobNotBeforeItsTime", func(t *testing.T) { testDelayed(t, b) })
	t.Run("QueuesDoNotMixTenantsPreserved", func(t *testing.T) { testNoMixing(t, b) })
	t.Run("InvalidJobsRejected", func(t *testing.T) { testInvalid(t, b) })
}

// consume runs q.Consume on its own goroutine until the returned stop
// function is called; stop waits for Consume to return.
func consume(t testing.TB, q Queue, queue string, h Handler, opts ConsumeOptions) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Consume(ctx, queue, h, opts) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Errorf("Consume(%s) did not return within 30s of cancel", queue)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder collects deliveries.
type recorder struct {
	mu   sync.Mutex
	jobs []Job
	at   []time.Time
}

func (r *recorder) handle(_ context.Context, j Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, j)
	r.at = append(r.at, time.Now())
	return nil
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.jobs)
}

func (r *recorder) snapshot() ([]Job, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Job(nil), r.jobs...), append([]time.Time(nil), r.at...)
}

func testPublishConsume(t *testing.T, b backend) {
	ctx := context.Background()
	e := b.newEnv(t, false)
	q := e.open(t)
	id, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, Kind: "greet", Payload: []byte("hello")})
	require.NoError(t, err)
	require.NotEmpty(t, id)
	keyed, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantB, Kind: "remind", IdempotencyKey: "session-42:remind"})
	require.NoError(t, err)
	require.Equal(t, keyedID("jobs", "session-42:remind"), keyed, "a keyed job's ID derives from its key")

	var r recorder
	consume(t, q, "jobs", r.handle, ConsumeOptions{})
	waitFor(t, 30*time.Second, "two deliveries", func() bool { return r.len() == 2 })
	jobs, _ := r.snapshot()
	byID := map[string]Job{}
	for _, j := range jobs {
		byID[j.ID] = j
	}
	got := byID[id]
	require.Equal(t, "jobs", got.Queue)
	require.Equal(t, tenantA, got.Tenant)
	require.Equal(t, "greet", got.Kind)
	require.Equal(t, []byte("hello"), got.Payload)
	require.Equal(t, 1, got.Attempt)
	require.Empty(t, got.LastError)
	require.Equal(t, tenantB, byID[keyed].Tenant)
	require.Equal(t, "session-42:remind", byID[keyed].IdempotencyKey)
}

// testTenThousand publishes 10,000 jobs and has 4 competing consumers (4
// queue instances, as 4 processes would be) process them; every job must be
// handled exactly once.
func testTenThousand(t *testing.T, b backend) {
	const n = 10000
	ctx := context.Background()
	e := b.newEnv(t, false)
	pub := e.open(t)
	consumers := make([]Queue, 4)
	for i := range consumers {
		consumers[i] = e.open(t)
	}

	var (
		mu     sync.Mutex
		counts = make(map[string]int, n)
		total  atomic.Int64
	)
	start := time.Now()
	for _, c := range consumers {
		consume(t, c, "jobs", func(_ context.Context, j Job) error {
			mu.Lock()
			counts[j.ID]++
			mu.Unlock()
			total.Add(1)
			return nil
		}, ConsumeOptions{Concurrency: 4})
	}

	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				id, err := pub.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, Kind: "count", Payload: []byte(fmt.Sprint(i))})
				if err != nil {
					errs <- err
					return
				}
				ids[i] = id
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	published := time.Since(start)

	waitFor(t, 10*time.Minute, "10,000 jobs processed", func() bool { return total.Load() >= n })
	processed := time.Since(start)
	// Give a duplicate the chance to show up before counting.
	time.Sleep(2 * time.Second)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, counts, n, "distinct jobs processed")
	for _, id := range ids {
		require.Equal(t, 1, counts[id], "job %s processed %d times", id, counts[id])
	}
	t.Logf("%s: 10,000 jobs, 4 consumers × concurrency 4: all published after %v, all processed after %v (%.0f jobs/s)",
		b.name, published.Round(time.Millisecond), processed.Round(time.Millisecond), n/processed.Seconds())
}

// testCrashRedelivery kills a consumer's process while its handler runs; the
// job must reach another consumer.
func testCrashRedelivery(t *testing.T, b backend) {
	ctx := context.Background()
	e := b.newEnv(t, true)
	q1, q2 := e.open(t), e.open(t)
	id, err := q1.Publish(ctx, Job{Queue: "crash", Tenant: tenantA, Kind: "work"})
	require.NoError(t, err)

	started := make(chan Job, 1)
	release := make(chan struct{})
	defer close(release)
	stop1 := consume(t, q1, "crash", func(ctx context.Context, j Job) error {
		started <- j
		select {
		case <-release:
		case <-ctx.Done():
		}
		return errors.New("should never be recorded")
	}, ConsumeOptions{})
	defer stop1()
	select {
	case j := <-started:
		require.Equal(t, id, j.ID)
	case <-time.After(30 * time.Second):
		t.Fatal("first consumer never got the job")
	}
	e.kill(q1)

	var r recorder
	consume(t, q2, "crash", r.handle, ConsumeOptions{})
	waitFor(t, 2*time.Minute, "redelivery to the second consumer", func() bool { return r.len() >= 1 })
	jobs, _ := r.snapshot()
	require.Equal(t, id, jobs[0].ID)
	require.Equal(t, tenantA, jobs[0].Tenant)
}

// testStopRedelivery stops a consumer gracefully mid-job; the interrupted job
// goes to the next consumer without counting as a failed attempt.
func testStopRedelivery(t *testing.T, b backend) {
	ctx := context.Background()
	e := b.newEnv(t, false)
	q1, q2 := e.open(t), e.open(t)
	id, err := q1.Publish(ctx, Job{Queue: "stop", Tenant: tenantB})
	require.NoError(t, err)
	started := make(chan struct{}, 1)
	stop1 := consume(t, q1, "stop", func(ctx context.Context, j Job) error {
		started <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}, ConsumeOptions{})
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("first consumer never got the job")
	}
	stop1()

	var r recorder
	consume(t, q2, "stop", r.handle, ConsumeOptions{})
	waitFor(t, time.Minute, "redelivery after a graceful stop", func() bool { return r.len() >= 1 })
	jobs, _ := r.snapshot()
	require.Equal(t, id, jobs[0].ID)
	require.Equal(t, 1, jobs[0].Attempt, "an interrupted delivery is not a failed attempt")
}

func testRetry(t *testing.T, b backend) {
	ctx := context.Background()
	e := b.newEnv(t, false)
	q := e.open(t)
	_, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA})
	require.NoError(t, err)
	var r recorder
	consume(t, q, "jobs", func(ctx context.Context, j Job) error {
		_ = r.handle(ctx, j)
		if j.Attempt == 1 {
			return errors.New("first failure")
		}
		return nil
	}, ConsumeOptions{Policy: fastRetry})
	waitFor(t, time.Minute, "second attempt", func() bool { return r.len() >= 2 })
	jobs, at := r.snapshot()
	require.Equal(t, 2, jobs[1].Attempt)
	require.Equal(t, "first failure", jobs[1].LastError)
	require.Equal(t, jobs[0].ID, jobs[1].ID)
	require.GreaterOrEqual(t, at[1].Sub(at[0]), fastRetry.BaseBackoff, "retry waits for its backoff")
}

func testDeadLetter(t *testing.T, b backend, permanent bool) {
	ctx := context.Background()
	e := b.newEnv(t, false)
	q := e.open(t)
	id, err := q.Publish(ctx, Job{Queue: "failing", Tenant: tenantB, Kind: "doomed", Payload: []byte{1, 2, 3}})
	require.NoError(t, err)
	var calls atomic.Int64
	consume(t, q, "failing", func(_ context.Context, j Job) error {
		n := calls.Add(1)
		err := fmt.Errorf("boom %d", n)
		if permanent {
			return Permanent(err)
		}
		return err
	}, ConsumeOptions{Policy: fastRetry})

	var dead []Job
	waitFor(t, time.Minute, "a dead letter", func() bool {
		var err error
		dead, err = q.DeadLetters(ctx, "failing", 10)
		require.NoError(t, err)
		return len(dead) == 1
	})
	want := fastRetry.MaxAttempts
	if permanent {
		want = 1
	}
	d := dead[0]
	require.Equal(t, id, d.ID)
	require.Equal(t, tenantB, d.Tenant)
	require.Equal(t, "doomed", d.Kind)
	require.Equal(t, []byte{1, 2, 3}, d.Payload)
	require.Equal(t, want, d.Attempt)
	require.Contains(t, d.LastError, fmt.Sprintf("boom %d", want))
	// Listing dead letters does not consume them, and nothing runs again.
	time.Sleep(300 * time.Millisecond)
	again, err := q.DeadLetters(ctx, "failing", 10)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, int64(want), calls.Load())
}

// testDelayed checks that a delayed job is not handled before NotBefore and
// does not hold up a job published after it for now.
func testDelayed(t *testing.T, b backend) {
	ctx := context.Background()
	e := b.newEnv(t, false)
	q := e.open(t)
	var r recorder
	consume(t, q, "delayed", r.handle, ConsumeOptions{Concurrency: 2})

	notBefore := time.Now().Add(1500 * time.Millisecond)
	delayed, err := q.Publish(ctx, Job{Queue: "delayed", Tenant: tenantA, Kind: "later", NotBefore: notBefore})
	require.NoError(t, err)
	now, err := q.Publish(ctx, Job{Queue: "delayed", Tenant: tenantA, Kind: "now"})
	require.NoError(t, err)

	waitFor(t, time.Minute, "both jobs", func() bool { return r.len() == 2 })
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 2, r.len(), "each job is delivered once")
	jobs, at := r.snapshot()
	require.Equal(t, now, jobs[0].ID, "the immediate job is not held up by the delayed one")
	require.Equal(t, delayed, jobs[1].ID)
	require.False(t, at[1].Before(notBefore), "delayed job ran at %v, before its NotBefore %v", at[1], notBefore)
	require.Equal(t, notBefore.UnixNano(), jobs[1].NotBefore.UnixNano())
	t.Logf("%s: delayed job ran %v after NotBefore", b.name, at[1].Sub(notBefore).Round(time.Millisecond))
}

// testNoMixing publishes to two queues for two tenants and checks each
// consumer sees only its queue's jobs, each with its own tenant.
func testNoMixing(t *testing.T, b backend) {
	ctx := context.Background()
	e := b.newEnv(t, false)
	q := e.open(t)
	want := map[string]map[string]tenant.ID{"alpha": {}, "beta": {}}
	for i := 0; i < 20; i++ {
		queue, tn := "alpha", tenantA
		if i%2 == 1 {
			queue = "beta"
		}
		if i%3 == 0 {
			tn = tenantB
		}
		id, err := q.Publish(ctx, Job{Queue: queue, Tenant: tn, Payload: []byte(fmt.Sprint(i))})
		require.NoError(t, err)
		want[queue][id] = tn
	}
	recs := map[string]*recorder{"alpha": {}, "beta": {}}
	for name, r := range recs {
		consume(t, q, name, r.handle, ConsumeOptions{Concurrency: 3})
	}
	for name, r := range recs {
		waitFor(t, time.Minute, name+" jobs", func() bool { return r.len() >= len(want[name]) })
	}
	time.Sleep(200 * time.Millisecond)
	for name, r := range recs {
		jobs, _ := r.snapshot()
		require.Len(t, jobs, len(want[name]))
		for _, j := range jobs {
			tn, ok := want[name][j.ID]
			require.True(t, ok, "queue %s got foreign job %s", name, j.ID)
			require.Equal(t, name, j.Queue)
			require.Equal(t, tn, j.Tenant)
		}
	}
}

func testInvalid(t *testing.T, b backend) {
	ctx := context.Background()
	q := b.newEnv(t, false).open(t)
	cases := []struct {
		name string
		job  Job
	}{
		{"no tenant", Job{Queue: "jobs"}},
		{"bad tenant", Job{Queue: "jobs", Tenant: "Not Valid"}},
		{"no queue", Job{Tenant: tenantA}},
		{"upper-case queue", Job{Queue: "Jobs", Tenant: tenantA}},
		{"queue with slash", Job{Queue: "a/b", Tenant: tenantA}},
		{"reserved dlq suffix", Job{Queue: "jobs.dlq", Tenant: tenantA}},
		{"bad id", Job{Queue: "jobs", Tenant: tenantA, ID: "a b"}},
		{"payload too large", Job{Queue: "jobs", Tenant: tenantA, Payload: make([]byte, MaxPayload+1)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := q.Publish(ctx, c.job)
			require.ErrorIs(t, err, ErrInvalidJob)
		})
	}
	require.ErrorIs(t, q.Consume(ctx, "Bad Name", func(context.Context, Job) error { return nil }, ConsumeOptions{}), ErrInvalidQueue)
	_, err := q.DeadLetters(ctx, "", 1)
	require.ErrorIs(t, err, ErrInvalidQueue)
}
