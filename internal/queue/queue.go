// Package queue carries Plenary's durable jobs: timed actions of the
// scheduler, recording and packaging work, notifications.
//
// A job is published to a named logical queue and handed to one consumer at a
// time. The handler's result decides what happens next: nil acknowledges the
// job, an error schedules a retry with exponential backoff, and after
// Policy.MaxAttempts deliveries (or at once for a Permanent error) the job is
// moved to the queue's dead-letter store together with its last error.
// Delivery is at least once: a consumer that dies mid-job has the job
// redelivered to another one, so handlers must tolerate a repeat (the job ID
// and the idempotency key are there to make that easy).
//
// Two implementations pass the same conformance suite:
//
//   - MemoryQueue, the embedded default, keeps jobs in the document store so
//     that they survive a restart and can be shared by several processes on
//     one store. Its claims are fenced by unique inserts, which are atomic on
//     every store backend (see memory.go for why findAndModify is not used).
//   - RabbitQueue, for production, uses durable queues, persistent messages,
//     publisher confirms, manual acknowledgements and a dead-letter queue per
//     queue; delays use TTL queues, so no broker plugin is needed.
package queue

import (
	"context"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Job is one unit of durable work.
type Job struct {
	// ID identifies the job. Publish sets a random one when it is empty, or
	// one derived from (Queue, IdempotencyKey) when a key is given, so that
	// consumers can deduplicate by ID on every backend. At most 128
	// characters of letters, digits and ".-_:".
	ID string
	// Queue is the logical queue name, e.g. "scheduler.actions": 1–100
	// characters of lower-case letters, digits and ".-_", starting with a
	// letter or digit.
	Queue string
	// Tenant owns the job; required. Handlers must act within it.
	Tenant tenant.ID
	// Kind tells the handler what Payload holds, e.g. "open-stage".
	Kind string
	// Payload is opaque to the queue; at most MaxPayload bytes.
	Payload []byte
	// IdempotencyKey, when set, makes a second Publish of the same key to the
	// same queue a no-op that returns the first job's ID. MemoryQueue keeps
	// the key while the job is pending or dead and for MemoryConfig.Retention
	// after it succeeded. RabbitQueue cannot deduplicate at publish time (the
	// broker has no such feature); the key travels with the message and
	// yields a deterministic ID, so a consumer that must not repeat work
	// deduplicates on Job.ID.
	IdempotencyKey string
	// Attempt is the 1-based delivery number, set on delivery.
	Attempt int
	// NotBefore delays delivery: the handler never sees the job before this
	// instant. Zero means now.
	NotBefore time.Time
	// LastError is the error of the previous attempt, set on redelivery and
	// in dead letters.
	LastError string
}

// Handler processes one job. Returning nil acknowledges it; any other error
// schedules a retry (see Policy), and an error wrapped with Permanent sends
// the job straight to the dead-letter queue. ctx is cancelled when the
// consumer shuts down; a handler interrupted that way should return
// ctx.Err() so that the job is released for another consumer without
// counting as a failure.
type Handler func(ctx context.Context, job Job) error

// Queue is the durable job queue the components use.
type Queue interface {
	// Publish stores job and returns its ID once it is durable (written to
	// the store, or confirmed by the broker).
	Publish(ctx context.Context, job Job) (string, error)
	// Consume hands jobs of the named queue to h until ctx is done, then
	// waits for running handlers and returns nil. It returns early with an
	// error only for invalid arguments or a closed queue.
	Consume(ctx context.Context, queue string, h Handler, opts ConsumeOptions) error
	// DeadLetters returns up to limit dead jobs of the named queue, each with
	// its last error, without removing them.
	DeadLetters(ctx context.Context, queue string, limit int) ([]Job, error)
}

// Closer is implemented by queues that hold connections or goroutines. Close
// is idempotent; main calls it during shutdown after consumers stopped.
type Closer interface {
	Close() error
}

// Pinger is implemented by queues whose backend can be unreachable; /readyz
// calls it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ConsumeOptions tunes one Consume call. The zero value is one handler at a
// time with the default Policy.
type ConsumeOptions struct {
	// Concurrency is how many handlers run at once. Default 1. A consumer
	// holds up to twice as many jobs (running or about to run): claims on
	// the store, prefetch on RabbitMQ.
	Concurrency int
	// Policy decides retries and dead-lettering.
	Policy Policy
}

func (o ConsumeOptions) withDefaults() ConsumeOptions {
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	o.Policy = o.Policy.withDefaults()
	return o
}

// Compile-time checks that both implementations satisfy the interfaces.
var (
	_ Queue  = (*MemoryQueue)(nil)
	_ Queue  = (*RabbitQueue)(nil)
	_ Closer = (*MemoryQueue)(nil)
	_ Closer = (*RabbitQueue)(nil)
	_ Pinger = (*MemoryQueue)(nil)
	_ Pinger = (*RabbitQueue)(nil)
)
