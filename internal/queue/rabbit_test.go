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

// rabbitBackend runs the suite on RabbitQueue instances with classic
// queues, and rabbitQuorumBackend with quorum queues.
var (
	rabbitBackend       = newRabbitBackend("rabbitmq", QueueClassic)
	rabbitQuorumBackend = newRabbitBackend("rabbitmq-quorum", QueueQuorum)
)

// newRabbitBackend runs the suite on RabbitQueue instances of one queue type
// sharing one random prefix per env, whose queues and exchanges are deleted
// afterwards.
func newRabbitBackend(name, queueType string) backend {
	return backend{
		name: name,
		newEnv: func(t testing.TB, _ bool) *env {
			requireRabbit(t)
			prefix := "test-" + storetest.RandomSuffix()
			t.Cleanup(func() { deleteTopology(t, prefix) })
			return &env{
				open: func(t testing.TB) Queue {
					t.Helper()
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					cfg := RabbitConfig{URL: amqpURL(), Prefix: prefix, QueueType: queueType}
					q, err := NewRabbitQueue(ctx, cfg, testLogger())
					require.NoError(t, err)
					t.Cleanup(func() { require.NoError(t, q.Close()) })
					return q
				},
				kill: func(q Queue) { q.(*RabbitQueue).crash() },
			}
		},
	}
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

func TestRabbitQuorumConformance(t *testing.T) {
	runConformance(t, rabbitQuorumBackend)
}

// declareWith declares name with args on a channel of its own and returns
// the broker's answer (a mismatch with an existing queue is an error).
func declareWith(t *testing.T, conn *amqp.Connection, name string, args amqp.Table) error {
	t.Helper()
	ch, err := conn.Channel()
	require.NoError(t, err)
	defer func() { _ = ch.Close() }()
	_, err = ch.QueueDeclare(name, true, false, false, false, args)
	return err
}

// TestRabbitQueueTypes checks with the broker that every queue the
// configured type asks for has that type: re-declaring it as the other
// type is refused as inequivalent. Quorum delay queues must carry no
// x-expires and dead-letter at-least-once.
func TestRabbitQueueTypes(t *testing.T) {
	for _, tt := range []struct{ typ, other string }{
		{QueueClassic, QueueQuorum},
		{QueueQuorum, QueueClassic},
	} {
		t.Run(tt.typ, func(t *testing.T) {
			ctx := context.Background()
			b := newRabbitBackend("rabbitmq-"+tt.typ, tt.typ)
			q := b.newEnv(t, false).open(t).(*RabbitQueue)
			// A job delayed by 1 h declares the main, dead-letter and one
			// delay queue.
			_, err := q.Publish(ctx, Job{Queue: "delayed", Tenant: tenantA, Kind: "later",
				NotBefore: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			ms := delayBucket(59 * time.Minute) // the hop of a delay just under 1 h

			conn, err := amqp.Dial(amqpURL())
			require.NoError(t, err)
			defer func() { _ = conn.Close() }()
			for _, name := range []string{q.mainName("delayed"), q.dlqName("delayed"), q.delayName(ms)} {
				err := declareWith(t, conn, name, amqp.Table{"x-queue-type": tt.other})
				var aerr *amqp.Error
				require.ErrorAs(t, err, &aerr, "%s re-declared as %s", name, tt.other)
				require.Equal(t, amqp.PreconditionFailed, aerr.Code, "%s: %v", name, err)
			}
			// The local broker announces its version, so the delivery-limit
			// choice is made on a real value.
			major := brokerMajor(q.st.conn.Properties)
			require.NotZero(t, major, "broker version %v", q.st.conn.Properties["version"])
			require.Equal(t, tt.typ == QueueQuorum && major >= 4, q.st.unlimitedDeliveries)
			// The delay queue's arguments are the ones the broker holds.
			require.NoError(t, declareWith(t, conn, q.delayName(ms), q.delayArgs(ms)))
			args := q.delayArgs(ms)
			if tt.typ == QueueQuorum {
				require.NotContains(t, args, "x-expires")
				require.Equal(t, "at-least-once", args["x-dead-letter-strategy"])
				withExpiry := q.delayArgs(ms)
				withExpiry["x-expires"] = int64(600000)
				err := declareWith(t, conn, q.delayName(ms), withExpiry)
				require.Error(t, err, "the broker's quorum delay queue has no x-expires")
			} else {
				require.Contains(t, args, "x-expires")
			}
		})
	}
}

// TestRabbitClassicKeepsUntypedQueues checks that queues declared before
// QueueType existed (no x-queue-type argument) are still accepted with the
// default type, so that upgrading Plenary needs no migration.
func TestRabbitClassicKeepsUntypedQueues(t *testing.T) {
	requireRabbit(t)
	prefix := "test-" + storetest.RandomSuffix()
	t.Cleanup(func() { deleteTopology(t, prefix) })
	conn, err := amqp.Dial(amqpURL())
	require.NoError(t, err)
	defer func() { _ = conn.Close() }()
	require.NoError(t, declareWith(t, conn, prefix+".jobs", nil))
	require.NoError(t, declareWith(t, conn, prefix+".jobs.dlq", nil))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	q, err := NewRabbitQueue(ctx, RabbitConfig{URL: amqpURL(), Prefix: prefix}, testLogger())
	require.NoError(t, err)
	defer func() { require.NoError(t, q.Close()) }()
	_, err = q.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, Kind: "k"})
	require.NoError(t, err)

	// Switching those queues to quorum without migrating them is refused
	// with the broker's reason, not silently ignored.
	qq, err := NewRabbitQueue(ctx, RabbitConfig{URL: amqpURL(), Prefix: prefix, QueueType: QueueQuorum}, testLogger())
	require.NoError(t, err)
	defer func() { require.NoError(t, qq.Close()) }()
	_, err = qq.Publish(ctx, Job{Queue: "jobs", Tenant: tenantA, Kind: "k"})
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorContains(t, err, "x-queue-type")
	t.Logf("publish to a classic queue with QueueType quorum: %v", err)
}

// TestRabbitQueueTypeRejected checks that an unknown queue type is refused
// before dialing.
func TestRabbitQueueTypeRejected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := NewRabbitQueue(ctx, RabbitConfig{URL: amqpURL(), QueueType: "stream"}, testLogger())
	require.ErrorContains(t, err, `queue type "stream"`)
	require.Error(t, ValidQueueType("Quorum"))
	require.NoError(t, ValidQueueType(""))
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

// TestRabbitQuorumDeadLettersSurviveListing lists a quorum dead-letter queue
// more times than RabbitMQ 4's default delivery limit (20): each listing
// returns the messages to the queue, and none may be dropped for it.
func TestRabbitQuorumDeadLettersSurviveListing(t *testing.T) {
	ctx := context.Background()
	q := rabbitQuorumBackend.newEnv(t, false).open(t).(*RabbitQueue)
	consume(t, q, "failing", func(context.Context, Job) error {
		return Permanent(fmt.Errorf("cannot decode"))
	}, ConsumeOptions{})
	id, err := q.Publish(ctx, Job{Queue: "failing", Tenant: tenantA, Kind: "bad"})
	require.NoError(t, err)
	waitFor(t, 30*time.Second, "the job dead-lettered", func() bool {
		dead, err := q.DeadLetters(ctx, "failing", 10)
		require.NoError(t, err)
		return len(dead) == 1
	})
	for i := range 25 {
		dead, err := q.DeadLetters(ctx, "failing", 10)
		require.NoError(t, err)
		require.Len(t, dead, 1, "listing %d", i)
		require.Equal(t, id, dead[0].ID)
	}
	t.Logf("broker %v: x-delivery-limit=-1 declared: %v", brokerMajor(q.st.conn.Properties), q.st.unlimitedDeliveries)
}

func TestBrokerMajor(t *testing.T) {
	for v, want := range map[any]int{"3.10.8": 3, "4.1.0": 4, "10.0": 10, "": 0, "x.y": 0, 4: 0} {
		require.Equal(t, want, brokerMajor(amqp.Table{"version": v}), "%v", v)
	}
	require.Zero(t, brokerMajor(nil))
}
