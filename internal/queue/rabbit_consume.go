package queue

import (
	"context"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Consume runs h for the jobs of queue until ctx is done or the queue is
// closed, resuming on a new connection whenever the broker connection drops.
// Each delivery is acknowledged only after its outcome is settled: acked on
// success, acked after the retry or dead letter was confirmed, or requeued
// when the consumer stops mid-job.
func (q *RabbitQueue) Consume(ctx context.Context, queue string, h Handler, opts ConsumeOptions) error {
	ctx, opts, done, err := q.gate().begin(ctx, queue, h, opts)
	if err != nil {
		return err
	}
	defer done()
	for ctx.Err() == nil {
		st, err := q.current(ctx)
		if err != nil {
			break
		}
		if err := q.consumeOn(ctx, st, queue, h, opts); err != nil && ctx.Err() == nil {
			q.log.Warn("rabbitmq consumer interrupted", "queue", queue, "err", err)
			// Wait for the connection to be replaced, or a moment if it was
			// only the channel.
			select {
			case <-st.down:
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
		if q.crashed.Load() {
			<-ctx.Done()
		}
	}
	return nil
}

// consumeOn consumes on one channel of st until the channel closes or ctx is
// done, then waits for its handlers (they ack on this channel) and closes it.
func (q *RabbitQueue) consumeOn(ctx context.Context, st *rabbitState, queue string, h Handler, opts ConsumeOptions) error {
	if err := q.ensureQueue(st, queue); err != nil {
		return err
	}
	ch, err := st.conn.Channel()
	if err != nil {
		return fmt.Errorf("%w: open channel: %w", ErrUnavailable, err)
	}
	defer func() { _ = ch.Close() }()
	// A prefetch of twice the concurrency keeps handlers busy without
	// hoarding messages that competing consumers could run.
	if err := ch.Qos(2*opts.Concurrency, 0, false); err != nil {
		return fmt.Errorf("%w: qos: %w", ErrUnavailable, err)
	}
	tag := "plenary-" + randomID()[:12]
	deliveries, err := ch.Consume(q.mainName(queue), tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("%w: consume %s: %w", ErrUnavailable, queue, err)
	}
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			// Stop deliveries; those already received are requeued below.
			_ = ch.Cancel(tag, false)
		case <-stopped:
		}
	}()
	defer close(stopped)

	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, opts.Concurrency)
	for d := range deliveries {
		if ctx.Err() != nil {
			_ = d.Nack(false, true)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			_ = d.Nack(false, true)
			continue
		}
		wg.Add(1)
		go func(d amqp.Delivery) {
			defer wg.Done()
			defer func() { <-sem }()
			q.handle(ctx, st, queue, d, h, opts.Policy)
		}(d)
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("%w: delivery channel closed", ErrUnavailable)
}

// handle runs one delivery and settles it.
func (q *RabbitQueue) handle(ctx context.Context, st *rabbitState, queue string, d amqp.Delivery, h Handler, p Policy) {
	m, err := decodeDelivery(queue, d)
	if err != nil {
		q.log.Warn("rabbitmq: malformed message dead-lettered", "queue", queue, "err", err)
		q.deadLetterRaw(st, queue, d, err)
		return
	}
	job := m.job
	if ready := m.readyAt(); time.Until(ready) > 0 {
		if time.Until(ready) > localWait {
			// Not due yet: send it on its next delay hop.
			q.settle(st, d, q.republish(st, m))
			return
		}
		if !waitUntil(ctx, ready) {
			_ = d.Nack(false, true)
			return
		}
	}
	herr := runHandler(ctx, h, job, backendRabbit)
	if q.crashed.Load() {
		return
	}
	o := decide(herr, job.Attempt, p, ctx.Err() != nil)
	countProcessed(backendRabbit, queue, o)
	switch o {
	case outcomeAck:
		if err := d.Ack(false); err != nil {
			q.log.Warn("rabbitmq ack failed; the job will be redelivered", "queue", queue, "job", job.ID, "err", err)
		}
	case outcomeRetry:
		m.attempts++
		m.job.LastError = truncateError(herr)
		m.due = time.Now().Add(p.Backoff(m.attempts))
		q.settle(st, d, q.republish(st, m))
	case outcomeDead:
		m.attempts = job.Attempt
		m.job.LastError = truncateError(herr)
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		err := q.sendDead(ctx, st, m)
		if err == nil {
			q.log.Info("rabbitmq: job dead-lettered", "queue", queue, "job", job.ID, "tenant", job.Tenant,
				"attempts", m.attempts, "last_error", m.job.LastError)
		}
		q.settle(st, d, err)
	default:
		_ = d.Nack(false, true)
	}
}

// republish sends m again (a retry or the next delay hop) on the delivery's
// own connection.
func (q *RabbitQueue) republish(st *rabbitState, m message) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	return q.send(ctx, m, st)
}

// settle acks a delivery whose successor was confirmed, or requeues it when
// sending the successor failed.
func (q *RabbitQueue) settle(st *rabbitState, d amqp.Delivery, sendErr error) {
	if q.crashed.Load() {
		return
	}
	if sendErr != nil {
		select {
		case <-st.down:
			return // the broker requeues it
		default:
		}
		q.log.Warn("rabbitmq: republish failed, requeueing", "err", sendErr)
		_ = d.Nack(false, true)
		return
	}
	_ = d.Ack(false)
}

// deadLetterRaw moves an undecodable delivery to the dead-letter queue as it
// is, with the decoding error.
func (q *RabbitQueue) deadLetterRaw(st *rabbitState, queue string, d amqp.Delivery, cause error) {
	h := amqp.Table{}
	for k, v := range d.Headers {
		h[k] = v
	}
	h[headerLastError] = truncateError(cause)
	h[headerDeadAt] = time.Now().UnixNano()
	pub := amqp.Publishing{
		Headers: h, ContentType: d.ContentType, DeliveryMode: amqp.Persistent,
		MessageId: d.MessageId, Type: d.Type, Timestamp: time.Now(), Body: d.Body,
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	err := q.ensureQueue(st, queue)
	if err == nil {
		err = q.publish(ctx, st, "", q.dlqName(queue), pub)
	}
	countProcessed(backendRabbit, queue, outcomeDead)
	q.settle(st, d, err)
}

// DeadLetters returns up to limit (default and at most 1000) messages of the
// queue's dead-letter queue, oldest first, without removing them: they are
// fetched unacknowledged and returned to the queue.
func (q *RabbitQueue) DeadLetters(ctx context.Context, queue string, limit int) ([]Job, error) {
	if err := ValidQueueName(queue); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	st, err := q.current(ctx)
	if err != nil {
		return nil, err
	}
	if err := q.ensureQueue(st, queue); err != nil {
		return nil, err
	}
	ch, err := st.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("%w: open channel: %w", ErrUnavailable, err)
	}
	defer func() { _ = ch.Close() }()
	var out []Job
	var last *amqp.Delivery
	for len(out) < limit && ctx.Err() == nil {
		d, ok, err := ch.Get(q.dlqName(queue), false)
		if err != nil {
			return nil, fmt.Errorf("%w: read dead letters: %w", ErrUnavailable, err)
		}
		if !ok {
			break
		}
		last = &d
		m, err := decodeDelivery(queue, d)
		if err != nil {
			// Undecodable dead letters are still listed, with what is known.
			m.job = Job{ID: d.MessageId, Queue: queue, Kind: d.Type, Payload: d.Body}
		}
		m.job.LastError = headerString(d.Headers, headerLastError)
		m.job.Attempt = m.attempts
		out = append(out, m.job)
	}
	if last != nil {
		_ = last.Nack(true, true)
	}
	return out, ctx.Err()
}
