package queue

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Message headers that carry a job on RabbitMQ. The job ID is the message ID,
// Kind the message type, Payload the body.
const (
	headerTenant    = "x-plenary-tenant"
	headerQueue     = "x-plenary-queue"
	headerAttempts  = "x-plenary-attempts" // failed deliveries so far
	headerNotBefore = "x-plenary-not-before"
	headerLastError = "x-plenary-last-error"
	headerIdemKey   = "x-plenary-idempotency-key"
	// headerDelay routes a message to its delay queue. The headers exchange
	// ignores headers starting with "x-" when matching, so this one must not.
	headerDelay  = "plenary-delay"
	headerDeadAt = "x-plenary-dead-at"
	headerDue    = "x-plenary-due" // retry backoff; NotBefore stays the publisher's
)

// Delay ladder bounds: hops are powers of two from 1 ms to 2^30 ms (~12
// days); longer delays take several hops.
const (
	maxDelayExp = 30
	// localWait is the remaining delay a consumer waits out itself instead
	// of sending the message on another hop.
	localWait = 20 * time.Millisecond
)

// delayBucket returns the largest power of two ≤ d in milliseconds (at most
// 2^maxDelayExp), or 0 when d is under a millisecond. Taking the largest hop
// not longer than what remains means a message never comes back late by the
// ladder's fault, and at least halves the remaining delay per hop.
func delayBucket(d time.Duration) int64 {
	ms := d.Milliseconds()
	if ms < 1 {
		return 0
	}
	exp := min(bits.Len64(uint64(ms))-1, maxDelayExp)
	return int64(1) << exp
}

// message is a job encoded for the broker.
type message struct {
	job      Job
	attempts int       // failed deliveries so far
	due      time.Time // earliest next delivery of a retry, zero if none
	deadAt   time.Time
}

// readyAt is when the message may be handled: the later of the job's
// NotBefore and the retry's due time.
func (m message) readyAt() time.Time {
	if m.due.After(m.job.NotBefore) {
		return m.due
	}
	return m.job.NotBefore
}

func (m message) publishing() amqp.Publishing {
	h := amqp.Table{
		headerTenant:   string(m.job.Tenant),
		headerQueue:    m.job.Queue,
		headerAttempts: int64(m.attempts),
	}
	if !m.job.NotBefore.IsZero() {
		h[headerNotBefore] = m.job.NotBefore.UnixNano()
	}
	if m.job.LastError != "" {
		h[headerLastError] = m.job.LastError
	}
	if m.job.IdempotencyKey != "" {
		h[headerIdemKey] = m.job.IdempotencyKey
	}
	if !m.due.IsZero() {
		h[headerDue] = m.due.UnixNano()
	}
	if !m.deadAt.IsZero() {
		h[headerDeadAt] = m.deadAt.UnixNano()
	}
	return amqp.Publishing{
		Headers:      h,
		ContentType:  "application/octet-stream",
		DeliveryMode: amqp.Persistent,
		MessageId:    m.job.ID,
		Type:         m.job.Kind,
		Timestamp:    time.Now(),
		Body:         m.job.Payload,
	}
}

// decodeDelivery reads a job from a delivery of the given logical queue.
// Messages come from the network: anything malformed is an error, never a
// panic. The returned job's Attempt is the delivery number.
func decodeDelivery(queue string, d amqp.Delivery) (message, error) {
	var m message
	t, err := tenant.Parse(headerString(d.Headers, headerTenant))
	if err != nil {
		return m, fmt.Errorf("message %q: %w", d.MessageId, err)
	}
	if !validID(d.MessageId) {
		return m, fmt.Errorf("message id %q is not a job id", d.MessageId)
	}
	attempts, ok := headerInt(d.Headers, headerAttempts)
	if !ok || attempts < 0 || attempts > 1<<20 {
		return m, fmt.Errorf("message %q: bad %s header", d.MessageId, headerAttempts)
	}
	m.attempts = int(attempts)
	m.job = Job{
		ID:             d.MessageId,
		Queue:          queue,
		Tenant:         t,
		Kind:           d.Type,
		Payload:        d.Body,
		IdempotencyKey: headerString(d.Headers, headerIdemKey),
		Attempt:        m.attempts + 1,
		LastError:      headerString(d.Headers, headerLastError),
	}
	if nb, ok := headerInt(d.Headers, headerNotBefore); ok && nb > 0 {
		m.job.NotBefore = time.Unix(0, nb)
	}
	if due, ok := headerInt(d.Headers, headerDue); ok && due > 0 {
		m.due = time.Unix(0, due)
	}
	if da, ok := headerInt(d.Headers, headerDeadAt); ok && da > 0 {
		m.deadAt = time.Unix(0, da)
	}
	return m, nil
}

func headerString(h amqp.Table, key string) string {
	switch v := h[key].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return ""
}

// headerInt reads an integer header whatever width the broker or another
// client gave it.
func headerInt(h amqp.Table, key string) (int64, bool) {
	switch v := h[key].(type) {
	case int64:
		return v, true
	case int32:
		return int64(v), true
	case int16:
		return int64(v), true
	case int8:
		return int64(v), true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// Publish sends job to its queue (or, when NotBefore is in the future, to the
// first hop of the delay ladder) as a persistent message and returns once the
// broker confirmed it. If the connection drops first, Publish waits for the
// reconnect and sends again, so a job may rarely be stored twice; consumers
// deduplicate on Job.ID where that matters.
func (q *RabbitQueue) Publish(ctx context.Context, job Job) (string, error) {
	if q.isClosed() {
		return "", ErrClosed
	}
	job, err := prepare(job)
	if err != nil {
		return "", err
	}
	for {
		err := q.send(ctx, message{job: job}, nil)
		if err == nil {
			publishedTotal.WithLabelValues(backendRabbit, job.Queue).Inc()
			return job.ID, nil
		}
		if !errors.Is(err, errConnLost) {
			return "", err
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("%w: publish: %w", ErrUnavailable, ctx.Err())
		}
	}
}

// send publishes m to its main queue or delay hop and waits for the confirm.
// With only set, it fails with errConnLost instead of using any connection
// but that one (a consumer republishing a delivery must not outlive the
// delivery's connection: the broker requeues the original anyway).
func (q *RabbitQueue) send(ctx context.Context, m message, only *rabbitState) error {
	st := only
	if st == nil {
		var err error
		if st, err = q.current(ctx); err != nil {
			return err
		}
	}
	if err := q.ensureQueue(st, m.job.Queue); err != nil {
		return q.lost(st, err)
	}
	exchange, key := "", q.mainName(m.job.Queue)
	pub := m.publishing()
	if ms := delayBucket(time.Until(m.readyAt())); ms > 0 {
		if err := q.ensureDelay(st, ms); err != nil {
			return q.lost(st, err)
		}
		exchange = q.exchangeDelay()
		pub.Headers[headerDelay] = strconv.FormatInt(ms, 10)
	}
	return q.publish(ctx, st, exchange, key, pub)
}

// sendDead publishes m to its queue's dead-letter queue on st.
func (q *RabbitQueue) sendDead(ctx context.Context, st *rabbitState, m message) error {
	if err := q.ensureQueue(st, m.job.Queue); err != nil {
		return q.lost(st, err)
	}
	m.deadAt = time.Now()
	return q.publish(ctx, st, "", q.dlqName(m.job.Queue), m.publishing())
}

// publish sends one message on st's confirm channel and waits for the
// broker's confirm.
func (q *RabbitQueue) publish(ctx context.Context, st *rabbitState, exchange, key string, pub amqp.Publishing) error {
	dc, err := st.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, pub)
	if err != nil {
		return q.lost(st, err)
	}
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for publish confirm: %w", ErrUnavailable, ctx.Err())
	case <-st.down:
		return errConnLost
	}
	if dc.Acked() {
		return nil
	}
	// Pending confirms of a closing channel resolve as nacks.
	if st.pub.IsClosed() || st.conn.IsClosed() {
		return q.lost(st, amqp.ErrClosed)
	}
	return ErrNotConfirmed
}

// lost turns an error on st into errConnLost when st's connection is gone or
// going, so that callers retry on the next connection instead of failing or
// spinning on the dead one. A write on a dead socket returns the raw network
// error while the client shuts the connection down in the background, so
// lost waits a moment for the supervisor to see it. A broker reply (an
// *amqp.Error other than ErrClosed) means the connection is alive: that error
// is returned at once.
func (q *RabbitQueue) lost(st *rabbitState, err error) error {
	var reply *amqp.Error
	if errors.As(err, &reply) && reply != amqp.ErrClosed && !st.conn.IsClosed() {
		return err
	}
	select {
	case <-st.down:
		return fmt.Errorf("%w: %w", errConnLost, err)
	case <-q.stop:
		return ErrClosed
	case <-time.After(2 * time.Second):
	}
	if errors.Is(err, amqp.ErrClosed) || st.conn.IsClosed() || st.pub.IsClosed() {
		return fmt.Errorf("%w: %w", errConnLost, err)
	}
	return err
}
