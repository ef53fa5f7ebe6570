package queue

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Limits on job fields, checked by Publish.
const (
	// MaxPayload is the largest payload Publish accepts (256 KiB). Media never
	// travels in a job: jobs carry references to it.
	MaxPayload = 256 << 10
	// MaxQueueName is the longest queue name.
	MaxQueueName = 100
	// MaxJobID is the longest job ID.
	MaxJobID = 128
	// MaxKind is the longest Kind.
	MaxKind = 100
	// MaxIdempotencyKey is the longest idempotency key.
	MaxIdempotencyKey = 256
	// maxLastError bounds the stored error text of a failed attempt.
	maxLastError = 2048
)

// ValidQueueName checks a queue name: 1–100 characters of lower-case ASCII
// letters, digits and ".-_", starting with a letter or digit, not ending in
// ".dlq" (the dead-letter queue's suffix). The same rule makes the name safe
// inside a RabbitMQ queue name and a collection name.
func ValidQueueName(name string) error {
	if name == "" || len(name) > MaxQueueName {
		return fmt.Errorf("%w: %q: want 1-%d characters", ErrInvalidQueue, name, MaxQueueName)
	}
	if strings.HasSuffix(name, ".dlq") {
		return fmt.Errorf("%w: %q: the suffix .dlq is reserved", ErrInvalidQueue, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		default:
			return fmt.Errorf("%w: %q: use lower-case letters, digits and '.-_' (not first)", ErrInvalidQueue, name)
		}
	}
	return nil
}

// validID checks a job ID: letters, digits and ".-_:".
func validID(id string) bool {
	if id == "" || len(id) > MaxJobID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.' || c == '-' || c == '_' || c == ':':
		default:
			return false
		}
	}
	return true
}

// prepare validates job for Publish and fills its ID. Delivery-only fields
// (Attempt, LastError) are cleared.
func prepare(job Job) (Job, error) {
	if err := ValidQueueName(job.Queue); err != nil {
		return job, fmt.Errorf("%w: %w", ErrInvalidJob, err)
	}
	if !job.Tenant.Valid() {
		return job, fmt.Errorf("%w: tenant %q", ErrInvalidJob, job.Tenant)
	}
	if len(job.Kind) > MaxKind {
		return job, fmt.Errorf("%w: kind longer than %d", ErrInvalidJob, MaxKind)
	}
	if len(job.Payload) > MaxPayload {
		return job, fmt.Errorf("%w: payload of %d bytes, at most %d", ErrInvalidJob, len(job.Payload), MaxPayload)
	}
	if len(job.IdempotencyKey) > MaxIdempotencyKey {
		return job, fmt.Errorf("%w: idempotency key longer than %d", ErrInvalidJob, MaxIdempotencyKey)
	}
	switch {
	case job.ID == "" && job.IdempotencyKey != "":
		job.ID = keyedID(job.Queue, job.IdempotencyKey)
	case job.ID == "":
		job.ID = randomID()
	case !validID(job.ID):
		return job, fmt.Errorf("%w: id %q: want 1-%d letters, digits or '.-_:'", ErrInvalidJob, job.ID, MaxJobID)
	}
	job.Attempt = 0
	job.LastError = ""
	return job, nil
}

// randomID returns a 128-bit random job ID in hex.
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// keyedID derives a job ID from the queue and idempotency key, so that every
// publisher of the same key names the same job.
func keyedID(queue, key string) string {
	h := sha256.Sum256([]byte(queue + "\x00" + key))
	return "k-" + hex.EncodeToString(h[:16])
}

// truncateError bounds an error message for storage in a job or header.
func truncateError(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if len(s) > maxLastError {
		s = s[:maxLastError]
	}
	return s
}

// runHandler calls h, turning a panic into an error so that one bad job cannot
// take the consumer down, and records the handler duration.
func runHandler(ctx context.Context, h Handler, job Job, backend string) (err error) {
	start := time.Now()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
		handlerSeconds.WithLabelValues(backend, job.Queue).Observe(time.Since(start).Seconds())
	}()
	return h(ctx, job)
}

// waitUntil blocks until t or until ctx is done, whichever is first, and
// reports whether t was reached.
func waitUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
