package queue

import (
	"strconv"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// jobDoc is a pending job in its queue's collection ({prefix}.q.{queue}).
//
// Only the holder of the job's current claim writes the document (see
// claimDoc), so the store's lack of an atomic read-modify-write does not
// matter. A consumer that claims the job does not write it at all: the claim
// is its lease. The document changes only when the job is released for a
// retry (gen+1) or reclaimed from a dead consumer (gen+2), and it is deleted
// when the job succeeds or is dead-lettered.
type jobDoc struct {
	ID     string `bson:"_id"`
	Queue  string `bson:"queue"`
	Tenant string `bson:"tenant"`
	Kind   string `bson:"kind,omitempty"`
	// Payload is the job's opaque body.
	Payload []byte `bson:"payload,omitempty"`
	// Idem is the idempotency key; a sparse unique index makes a second
	// pending job with the same key impossible.
	Idem string `bson:"idem,omitempty"`
	// Inc is random per insert: claims of an earlier job that had the same ID
	// never fence this one.
	Inc string `bson:"inc"`
	// Gen is the generation: the claim for generation Gen is the lease of the
	// current delivery.
	Gen int64 `bson:"gen"`
	// Attempts counts deliveries that failed or were lost with their consumer.
	Attempts int `bson:"attempts"`
	// Due is when the job may next be delivered, in Unix nanoseconds
	// (integers keep NotBefore's full precision; BSON dates have
	// milliseconds).
	Due int64 `bson:"due"`
	// NotBefore is the publisher's NotBefore in Unix nanoseconds, 0 if none.
	NotBefore int64     `bson:"not_before,omitempty"`
	LastError string    `bson:"last_error,omitempty"`
	Created   time.Time `bson:"created"`
}

// claimID is the _id of the claim on generation gen of a job incarnation.
func claimID(jobID, inc string, gen int64) string {
	return jobID + "/" + inc + "/" + strconv.FormatInt(gen, 10)
}

// claimKind says why a claim was taken.
const (
	claimRun  = "run"  // a consumer runs the job
	claimReap = "reap" // a reaper takes the job back from a dead consumer
)

// claimDoc is a lease on one generation of a job ({prefix}.claims). Its _id
// is unique, and an insert is atomic on every store backend, so exactly one
// consumer wins each generation. Claims are never updated; they are deleted
// by the garbage collector once their job is gone or has moved on.
type claimDoc struct {
	ID    string    `bson:"_id"`
	Queue string    `bson:"queue"`
	Job   string    `bson:"job"`
	Inc   string    `bson:"inc"`
	Gen   int64     `bson:"gen"`
	Kind  string    `bson:"kind"`
	Owner string    `bson:"owner"`
	At    time.Time `bson:"at"`
}

// ownerDoc is a live MemoryQueue instance ({prefix}.owners). Seen is renewed
// every LeaseTTL/3; an owner not seen for LeaseTTL is dead, and its claims
// are taken back.
type ownerDoc struct {
	ID      string    `bson:"_id"`
	Seen    time.Time `bson:"seen"`
	Started time.Time `bson:"started"`
}

// deadDoc is a dead-lettered job ({prefix}.dead). The _id is the job ID plus
// its incarnation, so a dead letter is written once however often a
// consumer retries the move.
type deadDoc struct {
	ID        string    `bson:"_id"`
	Job       string    `bson:"job"`
	Queue     string    `bson:"queue"`
	Tenant    string    `bson:"tenant"`
	Kind      string    `bson:"kind,omitempty"`
	Payload   []byte    `bson:"payload,omitempty"`
	Idem      string    `bson:"idem,omitempty"`
	Attempts  int       `bson:"attempts"`
	NotBefore int64     `bson:"not_before,omitempty"`
	LastError string    `bson:"last_error,omitempty"`
	DeadAt    time.Time `bson:"dead_at"`
}

// keyDoc remembers an idempotency key after its job left the pending
// collection ({prefix}.keys), for MemoryConfig.Retention.
type keyDoc struct {
	ID  string    `bson:"_id"` // queue + "/" + key
	Job string    `bson:"job"`
	At  time.Time `bson:"at"`
}

// keyDocID is the _id of a key tombstone; queue names cannot contain '/'.
func keyDocID(queue, key string) string { return queue + "/" + key }

// newJobDoc builds the stored form of a prepared job.
func newJobDoc(job Job, now time.Time) jobDoc {
	d := jobDoc{
		ID:      job.ID,
		Queue:   job.Queue,
		Tenant:  string(job.Tenant),
		Kind:    job.Kind,
		Payload: job.Payload,
		Idem:    job.IdempotencyKey,
		Inc:     randomID()[:12],
		Due:     now.UnixNano(),
		Created: now,
	}
	if !job.NotBefore.IsZero() {
		d.NotBefore = job.NotBefore.UnixNano()
		d.Due = max(d.Due, d.NotBefore)
	}
	return d
}

// job returns the delivery view of d.
func (d jobDoc) job() Job {
	j := Job{
		ID:             d.ID,
		Queue:          d.Queue,
		Tenant:         tenant.ID(d.Tenant),
		Kind:           d.Kind,
		Payload:        d.Payload,
		IdempotencyKey: d.Idem,
		Attempt:        d.Attempts + 1,
		LastError:      d.LastError,
	}
	if d.NotBefore != 0 {
		j.NotBefore = time.Unix(0, d.NotBefore)
	}
	return j
}

// dead returns the dead letter for d after the given number of deliveries,
// with the last error.
func (d jobDoc) dead(attempts int, lastErr string, now time.Time) deadDoc {
	return deadDoc{
		ID:        d.ID + "/" + d.Inc,
		Job:       d.ID,
		Queue:     d.Queue,
		Tenant:    d.Tenant,
		Kind:      d.Kind,
		Payload:   d.Payload,
		Idem:      d.Idem,
		Attempts:  attempts,
		NotBefore: d.NotBefore,
		LastError: lastErr,
		DeadAt:    now,
	}
}

// job returns the view of a dead letter; Attempt is the number of deliveries
// the job had.
func (d deadDoc) job() Job {
	j := Job{
		ID:             d.Job,
		Queue:          d.Queue,
		Tenant:         tenant.ID(d.Tenant),
		Kind:           d.Kind,
		Payload:        d.Payload,
		IdempotencyKey: d.Idem,
		Attempt:        d.Attempts,
		LastError:      d.LastError,
	}
	if d.NotBefore != 0 {
		j.NotBefore = time.Unix(0, d.NotBefore)
	}
	return j
}
