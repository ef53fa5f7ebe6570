package queue

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Policy decides what happens to a job whose handler failed. Zero fields mean
// the defaults given on each field.
type Policy struct {
	// MaxAttempts is how many deliveries a job gets before it is
	// dead-lettered. Default 5.
	MaxAttempts int
	// BaseBackoff is the delay before the second attempt; each further
	// attempt doubles it. Default 1s.
	BaseBackoff time.Duration
	// MaxBackoff caps the delay between attempts. Default 5m.
	MaxBackoff time.Duration
}

// Policy defaults.
const (
	DefaultMaxAttempts = 5
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 5 * time.Minute
)

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseBackoff <= 0 {
		p.BaseBackoff = DefaultBaseBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxBackoff < p.BaseBackoff {
		p.MaxBackoff = p.BaseBackoff
	}
	return p
}

// Backoff is the delay after the given failed attempt (1-based):
// BaseBackoff·2^(attempt-1), capped at MaxBackoff, plus up to 10% random
// jitter so that jobs that failed together do not retry in lockstep.
func (p Policy) Backoff(attempt int) time.Duration {
	p = p.withDefaults()
	d := p.BaseBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	if j := int64(d / 10); j > 0 {
		d += time.Duration(rand.Int64N(j))
	}
	return d
}

// outcome is what a consumer does with a job after its handler returned.
type outcome int

const (
	outcomeUnknown   outcome = iota
	outcomeAck               // success: remove the job
	outcomeRetry             // failure: redeliver after a backoff
	outcomeDead              // failure: move to the dead-letter queue
	outcomeInterrupt         // shutdown: release for immediate redelivery, not counted
)

// String names the outcome; the ok/retry/dead names are metric label values.
func (o outcome) String() string {
	switch o {
	case outcomeAck:
		return "ok"
	case outcomeRetry:
		return "retry"
	case outcomeDead:
		return "dead"
	case outcomeInterrupt:
		return "interrupted"
	}
	return "unknown"
}

// decide maps a handler result to an outcome. stopping says the consumer's
// context ended while the handler ran.
func decide(err error, attempt int, p Policy, stopping bool) outcome {
	switch {
	case err == nil:
		return outcomeAck
	case IsPermanent(err):
		return outcomeDead
	case stopping && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return outcomeInterrupt
	case attempt >= p.withDefaults().MaxAttempts:
		return outcomeDead
	}
	return outcomeRetry
}
