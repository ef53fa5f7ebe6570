package queue

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/store/storetest"
)

// envAMQPURL names the variable that points the tests at a RabbitMQ.
const envAMQPURL = "PLENARY_TEST_AMQP_URL"

func amqpURL() string {
	if u := os.Getenv(envAMQPURL); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// requireRabbit skips (or, with CI=true, fails) when no broker answers.
func requireRabbit(t testing.TB) {
	t.Helper()
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("RabbitMQ unreachable at %s (CI=true): %v", amqpURL(), err)
		}
		t.Skipf("RabbitMQ unreachable at %s (set %s or start rabbitmq-server): %v", amqpURL(), envAMQPURL, err)
	}
	_ = conn.Close()
}

// rabbitBackend runs the suite on RabbitQueue instances sharing one random
// prefix per env, whose queues and exchanges are deleted afterwards.
var rabbitBackend = backend{
	name: "rabbitmq",
	newEnv: func(t testing.TB, _ bool) *env {
		requireRabbit(t)
		prefix := "test-" + storetest.RandomSuffix()
		t.Cleanup(func() { deleteTopology(t, prefix) })
		return &env{
			open: func(t testing.TB) Queue {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				q, err := NewRabbitQueue(ctx, RabbitConfig{URL: amqpURL(), Prefix: prefix}, testLogger())
				require.NoError(t, err)
				t.Cleanup(func() { require.NoError(t, q.Close()) })
				return q
			},
			kill: func(q Queue) { q.(*RabbitQueue).crash() },
		}
	},
}

// crash simulates the death of the process: no more acks, no reconnect, and
// the TCP connection is cut so that the broker requeues what was unacked.
func (q *RabbitQueue) crash() {
	q.crashed.Store(true)
	q.dropConnection()
}

// dropConnection cuts the TCP connection under the AMQP client, as a network
// failure would.
func (q *RabbitQueue) dropConnection() {
	q.mu.Lock()
	raw := q.raw
	q.mu.Unlock()
	if raw != nil {
		_ = raw.Close()
	}
}

// deleteTopology removes every queue and exchange a test prefix can have
// created. Deleting a missing queue closes the channel, so each deletion
// gets a channel of its own.
func deleteTopology(t testing.TB, prefix string) {
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		t.Logf("cleanup of %s: %v", prefix, err)
		return
	}
	defer func() { _ = conn.Close() }()
	var queues []string
	for _, name := range suiteQueues {
		queues = append(queues, prefix+"."+name, prefix+"."+name+".dlq")
	}
	for exp := 0; exp <= maxDelayExp; exp++ {
		queues = append(queues, fmt.Sprintf("%s._delay.%d", prefix, int64(1)<<exp))
	}
	for _, name := range queues {
		ch, err := conn.Channel()
		if err != nil {
			t.Logf("cleanup of %s: %v", prefix, err)
			return
		}
		_, _ = ch.QueueDelete(name, false, false, false)
		_ = ch.Close()
	}
	for _, ex := range []string{prefix + "._delay", prefix + "._ready"} {
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		_ = ch.ExchangeDelete(ex, false, false)
		_ = ch.Close()
	}
}

func TestRabbitConformance(t *testing.T) {
	runConformance(t, rabbitBackend)
}

// TestRabbitReconnect cuts the connection under a running consumer; the
// queue must redial, declare its topology again, and deliver jobs published
// before and after the cut.
func TestRabbitReconnect(t *testing.T) {
	ctx := context.Background()
	e := rabbitBackend.newEnv(t, false)
	q := e.open(t)
	rq := q.(*RabbitQueue)
	var r recorder
	consume(t, q, "jobs", r.handle, ConsumeOptions{Concurrency: 2})

	_, err := q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, Kind: "before"})
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "job before the cut", func() bool { return r.len() == 1 })

	rq.dropConnection()
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err = q.Publish(pctx, Job{Queue: "jobs", Tenant: tenantA, Kind: "after"})
	require.NoError(t, err, "Publish waits for the reconnect")
	waitFor(t, 30*time.Second, "job after the cut", func() bool { return r.len() == 2 })
	require.NoError(t, q.(Pinger).Ping(ctx))
	jobs, _ := r.snapshot()
	require.Equal(t, "after", jobs[1].Kind)
}

// TestRabbitUnavailable checks that a wrong address fails fast with
// ErrUnavailable.
func TestRabbitUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := NewRabbitQueue(ctx, RabbitConfig{URL: "amqp://guest:guest@127.0.0.1:1/"}, testLogger())
	require.ErrorIs(t, err, ErrUnavailable)
}
