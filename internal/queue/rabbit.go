package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// RabbitConfig says which RabbitMQ to use. Zero values mean the defaults
// given on each field.
type RabbitConfig struct {
	// URL of the broker, e.g. amqp://guest:guest@127.0.0.1:5672/. Required.
	URL string
	// Prefix starts every queue and exchange name, so that several
	// deployments or test runs can share a vhost. Same rules as a queue
	// name. Default "plenary".
	Prefix string
	// ReconnectMax caps the delay between redials after the connection is
	// lost. Default 10s.
	ReconnectMax time.Duration
	// QueueType is the x-queue-type of every queue declared: QueueClassic
	// (default) or QueueQuorum (replicated over the cluster's nodes). A
	// queue keeps the type it was created with: see RabbitQueue for the
	// delay queues, and migrate by emptying and deleting the queues first.
	QueueType string
}

// Queue types of RabbitConfig.QueueType.
const (
	QueueClassic = "classic"
	QueueQuorum  = "quorum"
)

// ValidQueueType reports whether t can be RabbitConfig.QueueType ("" is
// QueueClassic).
func ValidQueueType(t string) error {
	switch t {
	case "", QueueClassic, QueueQuorum:
		return nil
	}
	return fmt.Errorf("queue type %q: want %q or %q", t, QueueClassic, QueueQuorum)
}

func (c RabbitConfig) withDefaults() RabbitConfig {
	if c.Prefix == "" {
		c.Prefix = "plenary"
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = 10 * time.Second
	}
	if c.QueueType == "" {
		c.QueueType = QueueClassic
	}
	return c
}

// RabbitQueue is the production Queue on RabbitMQ.
//
// Topology, for a logical queue Q and prefix P:
//
//   - P.Q: durable main queue, bound to the direct exchange P._ready with
//     routing key P.Q. Consumers read it with manual acks and a prefetch of
//     twice their concurrency.
//   - P.Q.dlq: durable dead-letter queue; each message keeps the job and its
//     last error (header x-plenary-last-error).
//   - P._delay.N: delay queues with x-message-ttl=N ms for N a power of two,
//     bound to the headers exchange P._delay on plenary-delay=N and
//     dead-lettering into P._ready with the message's own routing key (its
//     main queue). Every message in one delay queue has the same TTL, so none
//     waits behind another (no head-of-line blocking) and no plugin is
//     needed. A delay is split into power-of-two hops: a message arriving
//     early at its main queue is sent on to the next hop by the consumer.
//     Classic delay queues expire when idle (x-expires, kept off while in
//     use by re-declaring them). Quorum delay queues do not expire: a
//     quorum queue's x-expires is not pushed back by re-declaration, and
//     the queue is deleted with its messages (seen on RabbitMQ 3.10.8).
//     They dead-letter at-least-once (x-dead-letter-strategy, which needs
//     x-overflow=reject-publish), so a delayed job leaves its delay queue
//     only once its main queue has confirmed it; there are at most
//     maxDelayExp+1 of them per prefix, mostly empty.
//
// All queues get the configured x-queue-type (RabbitConfig.QueueType).
//
// Messages are persistent and every publish waits for the broker's confirm.
// A retry republishes the job with its attempt count, error and backoff in
// headers, then acks the delivery; a failure between the two repeats the
// delivery (at least once). When the connection drops, the queue redials
// with backoff, declares its topology again, and consumers resume.
//
// Limits: the broker cannot deduplicate publishes, so IdempotencyKey only
// yields a deterministic Job.ID (sent as the message ID) for consumers to
// deduplicate on; and a delivery lost with its consumer (connection gone
// before the ack) is requeued by the broker without counting as an attempt.
type RabbitQueue struct {
	cfg RabbitConfig
	log *slog.Logger

	mu    sync.Mutex
	st    *rabbitState
	known map[string]bool // logical queues to declare again after a reconnect
	// raw is the current TCP connection; tests close it to simulate a
	// network failure.
	raw    net.Conn
	closed bool

	// crashed makes the queue stop acknowledging and reconnecting, as if its
	// process died; tests use it.
	crashed atomic.Bool

	stop      chan struct{}
	bg        sync.WaitGroup
	consumers sync.WaitGroup
	closeOnce sync.Once
}

// rabbitState is one connection's worth of state. Fields are set before up
// is closed and never change after.
type rabbitState struct {
	conn     *amqp.Connection
	pub      *amqp.Channel // confirm mode
	connDown chan *amqp.Error
	pubDown  chan *amqp.Error

	up   chan struct{} // closed once connected
	down chan struct{} // closed once the connection is lost

	// unlimitedDeliveries says to declare quorum main and dead-letter
	// queues with x-delivery-limit=-1: the broker (4.0 or later) would
	// otherwise drop a message returned to its queue 20 times.
	unlimitedDeliveries bool

	mu       sync.Mutex
	declared map[string]bool     // main queues declared on this connection
	delays   map[int64]time.Time // delay queues declared on this connection
}

func newRabbitState() *rabbitState {
	return &rabbitState{
		up:       make(chan struct{}),
		down:     make(chan struct{}),
		declared: map[string]bool{},
		delays:   map[int64]time.Time{},
	}
}

// NewRabbitQueue connects to the broker, declares the shared exchanges and
// starts the reconnecting supervisor. It fails with ErrUnavailable when the
// broker cannot be reached now; later losses are handled by redialing.
func NewRabbitQueue(ctx context.Context, cfg RabbitConfig, log *slog.Logger) (*RabbitQueue, error) {
	cfg = cfg.withDefaults()
	if cfg.URL == "" {
		return nil, fmt.Errorf("%w: RabbitMQ URL is empty", ErrUnavailable)
	}
	if err := ValidQueueName(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("rabbitmq prefix: %w", err)
	}
	if err := ValidQueueType(cfg.QueueType); err != nil {
		return nil, fmt.Errorf("rabbitmq: %w", err)
	}
	if log == nil {
		log = slog.Default()
	}
	q := &RabbitQueue{
		cfg:   cfg,
		log:   log.With("component", "queue", "backend", backendRabbit),
		st:    newRabbitState(),
		known: map[string]bool{},
		stop:  make(chan struct{}),
	}
	type result struct {
		st  *rabbitState
		err error
	}
	res := make(chan result, 1)
	go func() {
		st, err := q.connect()
		res <- result{st, err}
	}()
	var r result
	select {
	case r = <-res:
	case <-ctx.Done():
		go func() {
			if r := <-res; r.st != nil {
				_ = r.st.conn.Close()
			}
		}()
		return nil, fmt.Errorf("%w: dial RabbitMQ: %w", ErrUnavailable, ctx.Err())
	}
	if r.err != nil {
		return nil, r.err
	}
	q.install(r.st)
	q.bg.Add(1)
	go func() { defer q.bg.Done(); q.supervise() }()
	return q, nil
}

// connect dials the broker and prepares a connection: the publishing channel
// in confirm mode, the exchanges, and the known queues.
func (q *RabbitQueue) connect() (*rabbitState, error) {
	var raw net.Conn
	conn, err := amqp.DialConfig(q.cfg.URL, amqp.Config{
		Heartbeat:  10 * time.Second,
		Properties: amqp.Table{"connection_name": "plenary-queue " + q.cfg.Prefix},
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := net.DialTimeout(network, addr, 10*time.Second)
			raw = c
			return c, err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: dial RabbitMQ: %w", ErrUnavailable, err)
	}
	st := newRabbitState()
	st.conn = conn
	st.unlimitedDeliveries = q.cfg.QueueType == QueueQuorum && brokerMajor(conn.Properties) >= 4
	fail := func(what string, err error) (*rabbitState, error) {
		_ = conn.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	setup, err := conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if err := setup.ExchangeDeclare(q.exchangeDelay(), amqp.ExchangeHeaders, true, false, false, false, nil); err != nil {
		return fail("declare delay exchange", err)
	}
	if err := setup.ExchangeDeclare(q.exchangeReady(), amqp.ExchangeDirect, true, false, false, false, nil); err != nil {
		return fail("declare ready exchange", err)
	}
	q.mu.Lock()
	known := make([]string, 0, len(q.known))
	for name := range q.known {
		known = append(known, name)
	}
	q.mu.Unlock()
	for _, name := range known {
		if err := q.declareQueue(setup, st, name); err != nil {
			return fail("declare queue "+name, err)
		}
		st.declared[name] = true
	}
	_ = setup.Close()
	if st.pub, err = conn.Channel(); err != nil {
		return fail("open publishing channel", err)
	}
	if err := st.pub.Confirm(false); err != nil {
		return fail("confirm mode", err)
	}
	st.connDown = conn.NotifyClose(make(chan *amqp.Error, 1))
	st.pubDown = st.pub.NotifyClose(make(chan *amqp.Error, 1))
	q.mu.Lock()
	q.raw = raw
	q.mu.Unlock()
	return st, nil
}

// install makes a prepared connection the current one.
func (q *RabbitQueue) install(ready *rabbitState) {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.st
	st.conn, st.pub, st.connDown, st.pubDown = ready.conn, ready.pub, ready.connDown, ready.pubDown
	st.declared = ready.declared
	st.unlimitedDeliveries = ready.unlimitedDeliveries
	close(st.up)
}

// supervise waits for the connection to fail and redials with backoff until
// Close.
func (q *RabbitQueue) supervise() {
	for {
		q.mu.Lock()
		st := q.st
		q.mu.Unlock()
		var reason *amqp.Error
		select {
		case <-q.stop:
			return
		case reason = <-st.connDown:
		case reason = <-st.pubDown:
			// The publishing channel died (e.g. a broker-side error): start
			// afresh with a new connection.
			_ = st.conn.Close()
		}
		q.mu.Lock()
		next := newRabbitState()
		q.st = next
		closed := q.closed
		q.mu.Unlock()
		close(st.down)
		if closed || q.crashed.Load() {
			return
		}
		q.log.Warn("rabbitmq connection lost, reconnecting", "err", reason)
		backoff := 100 * time.Millisecond
		for {
			ready, err := q.connect()
			if err == nil {
				if q.isClosed() {
					_ = ready.conn.Close()
					return
				}
				q.install(ready)
				q.log.Info("rabbitmq reconnected")
				break
			}
			q.log.Warn("rabbitmq redial failed", "err", err, "retry_in", backoff)
			select {
			case <-q.stop:
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, q.cfg.ReconnectMax)
		}
	}
}

// current returns the live connection, waiting for a reconnect if needed.
func (q *RabbitQueue) current(ctx context.Context) (*rabbitState, error) {
	for {
		q.mu.Lock()
		st, closed := q.st, q.closed
		q.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		select {
		case <-st.up:
			select {
			case <-st.down:
				continue
			default:
				return st, nil
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: waiting for RabbitMQ: %w", ErrUnavailable, ctx.Err())
		case <-q.stop:
			return nil, ErrClosed
		}
	}
}

func (q *RabbitQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// Ping reports whether the broker connection is up.
func (q *RabbitQueue) Ping(ctx context.Context) error {
	q.mu.Lock()
	st, closed := q.st, q.closed
	q.mu.Unlock()
	if closed {
		return ErrClosed
	}
	select {
	case <-st.up:
		if !st.conn.IsClosed() {
			return nil
		}
	default:
	}
	return fmt.Errorf("%w: not connected to RabbitMQ", ErrUnavailable)
}

// Close stops the consumers (their handlers see a cancelled context and
// unacknowledged deliveries return to their queues), then closes the
// connection. It is idempotent.
func (q *RabbitQueue) Close() error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		st := q.st
		q.mu.Unlock()
		close(q.stop)
		q.consumers.Wait()
		select {
		case <-st.up:
			_ = st.conn.Close()
		default:
		}
		q.bg.Wait()
	})
	return nil
}

// Names of the broker objects.
func (q *RabbitQueue) mainName(queue string) string { return q.cfg.Prefix + "." + queue }
func (q *RabbitQueue) dlqName(queue string) string  { return q.cfg.Prefix + "." + queue + ".dlq" }
func (q *RabbitQueue) delayName(ms int64) string {
	return fmt.Sprintf("%s._delay.%d", q.cfg.Prefix, ms)
}
func (q *RabbitQueue) exchangeDelay() string { return q.cfg.Prefix + "._delay" }
func (q *RabbitQueue) exchangeReady() string { return q.cfg.Prefix + "._ready" }

// declareQueue declares the main and dead-letter queues of a logical queue
// on st's broker and binds the main queue to the ready exchange.
//
// Both are requeued into: the main queue when a consumer stops mid-job, the
// dead-letter queue by every DeadLetters listing. Quorum queues on RabbitMQ
// 4.0 or later drop a message returned 20 times unless declared with
// x-delivery-limit=-1, which RabbitMQ 3.x reads as 0 (drop on the first
// return), hence the version test.
func (q *RabbitQueue) declareQueue(ch *amqp.Channel, st *rabbitState, queue string) error {
	main := q.mainName(queue)
	args := amqp.Table{"x-queue-type": q.cfg.QueueType}
	if st.unlimitedDeliveries {
		args["x-delivery-limit"] = int64(-1)
	}
	if _, err := ch.QueueDeclare(main, true, false, false, false, args); err != nil {
		return err
	}
	if err := ch.QueueBind(main, main, q.exchangeReady(), false, nil); err != nil {
		return err
	}
	_, err := ch.QueueDeclare(q.dlqName(queue), true, false, false, false, args)
	return err
}

// delayArgs are the arguments of the delay queue of ms milliseconds.
func (q *RabbitQueue) delayArgs(ms int64) amqp.Table {
	args := amqp.Table{
		"x-queue-type":           q.cfg.QueueType,
		"x-message-ttl":          ms,
		"x-dead-letter-exchange": q.exchangeReady(),
	}
	if q.cfg.QueueType == QueueQuorum {
		// No x-expires (see RabbitQueue), and dead letters kept until the
		// main queue confirms them: the default (at-most-once) drops a
		// delayed job if its main queue cannot take it at that moment.
		args["x-dead-letter-strategy"] = "at-least-once"
		args["x-overflow"] = "reject-publish"
		return args
	}
	// Longer than any message published after the last declaration (at most
	// delayRedeclare ago) can stay in the queue.
	args["x-expires"] = 2*ms + 5*60*1000
	return args
}

// ensureQueue declares a logical queue's topology once per connection.
// Declarations use a channel of their own: a failed declaration closes the
// channel it ran on.
func (q *RabbitQueue) ensureQueue(st *rabbitState, queue string) error {
	st.mu.Lock()
	ok := st.declared[queue]
	st.mu.Unlock()
	if ok {
		return nil
	}
	ch, err := st.conn.Channel()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer func() { _ = ch.Close() }()
	if err := q.declareQueue(ch, st, queue); err != nil {
		return fmt.Errorf("%w: declare %s: %w", ErrUnavailable, queue, err)
	}
	st.mu.Lock()
	st.declared[queue] = true
	st.mu.Unlock()
	q.mu.Lock()
	q.known[queue] = true
	q.mu.Unlock()
	return nil
}

// delayRedeclare is how long a delay queue declaration is trusted. Each
// declaration restarts the queue's x-expires clock; redeclaring at least this
// often keeps the queue alive while messages published here are in it.
const delayRedeclare = time.Minute

// ensureDelay declares the delay queue of ms milliseconds and its binding.
// A classic one is declared again every delayRedeclare to keep it from
// expiring; a quorum one, which does not expire, once per connection.
func (q *RabbitQueue) ensureDelay(st *rabbitState, ms int64) error {
	st.mu.Lock()
	at, ok := st.delays[ms]
	st.mu.Unlock()
	if ok && (q.cfg.QueueType == QueueQuorum || time.Since(at) < delayRedeclare) {
		return nil
	}
	ch, err := st.conn.Channel()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer func() { _ = ch.Close() }()
	name := q.delayName(ms)
	_, err = ch.QueueDeclare(name, true, false, false, false, q.delayArgs(ms))
	if err != nil {
		return fmt.Errorf("%w: declare %s: %w", ErrUnavailable, name, err)
	}
	err = ch.QueueBind(name, "", q.exchangeDelay(), false, amqp.Table{
		"x-match":   "all",
		headerDelay: fmt.Sprint(ms),
	})
	if err != nil {
		return fmt.Errorf("%w: bind %s: %w", ErrUnavailable, name, err)
	}
	st.mu.Lock()
	st.delays[ms] = time.Now()
	st.mu.Unlock()
	return nil
}

// brokerMajor returns the major version the broker announced in its
// connection properties, or 0 if it is missing or unreadable.
func brokerMajor(props amqp.Table) int {
	v, _ := props["version"].(string)
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return 0
	}
	return n
}

// errConnLost means the operation failed because the connection it used
// went away; the caller may retry on the next one.
var errConnLost = errors.New("rabbitmq connection lost")
