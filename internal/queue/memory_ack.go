package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Batching of deletes.
const (
	// maxAckBatch bounds the IDs of one delete.
	maxAckBatch = 2000
	// ackBatchTarget is the batch size that is flushed without waiting
	// for ackLinger.
	ackBatchTarget = 500
	// ackLinger is how long a finished job waits for others to share its
	// delete.
	ackLinger = 500 * time.Millisecond
)

// acker deletes finished jobs in batches. On the embedded store a delete
// costs a scan of the whole collection whatever the number of IDs, so one
// delete per batch instead of one per job is what makes thousands of jobs a
// second possible. A batch is written when it reaches ackBatchTarget jobs or
// its oldest job waited ackLinger; and never sooner than twice the last
// delete's duration after it, so that deleting takes at most a third of the
// time however large the collection.
//
// A finished job stays in its collection until the batch is written; its
// claim keeps every other consumer off it meanwhile, and this instance's
// consumers skip it (isPending). A crash before the write means the job is
// redelivered: delivery is at least once.
type acker struct {
	q       *MemoryQueue
	mu      sync.Mutex
	pending map[string]map[string]*keyDoc // queue → job ID → key tombstone or nil
	total   int                           // jobs in pending
	since   time.Time                     // when the oldest pending job was added
	kick    chan struct{}
	done    chan struct{}
	once    sync.Once
}

func newAcker(q *MemoryQueue) *acker {
	return &acker{
		q:       q,
		pending: map[string]map[string]*keyDoc{},
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// add queues the deletion of a finished job; key is the idempotency
// tombstone to write first, or nil.
func (a *acker) add(queue, id string, key *keyDoc) {
	a.mu.Lock()
	if a.pending[queue] == nil {
		a.pending[queue] = map[string]*keyDoc{}
	}
	if _, dup := a.pending[queue][id]; !dup {
		if a.total == 0 {
			a.since = time.Now()
		}
		a.total++
	}
	a.pending[queue][id] = key
	a.mu.Unlock()
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// isPending reports whether job id of queue is finished but not yet deleted.
func (a *acker) isPending(queue, id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.pending[queue][id]
	return ok
}

// count is the number of finished jobs of queue not yet deleted.
func (a *acker) count(queue string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending[queue])
}

// run flushes batches until ctx ends.
func (a *acker) run(ctx context.Context) {
	var (
		last    time.Duration // duration of the last delete
		lastEnd time.Time
		backoff = 100 * time.Millisecond
		timer   = time.NewTimer(time.Hour)
	)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.done:
			return
		case <-a.kick:
		case <-timer.C:
		}
		a.mu.Lock()
		total, since := a.total, a.since
		a.mu.Unlock()
		if total == 0 {
			continue
		}
		now := time.Now()
		wait := max(since.Add(ackLinger).Sub(now), lastEnd.Add(2*last).Sub(now))
		if total >= ackBatchTarget {
			wait = lastEnd.Add(2 * last).Sub(now)
		}
		if wait > 0 {
			timer.Reset(wait)
			continue
		}
		start := time.Now()
		err := a.flush(ctx)
		last, lastEnd = time.Since(start), time.Now()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.q.log.Warn("queue: delete finished jobs", "err", err)
			timer.Reset(backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		a.mu.Lock()
		more := a.total > 0
		a.mu.Unlock()
		if more {
			timer.Reset(0)
		}
	}
}

// stop writes what is pending, within writeTimeout, and ends run.
func (a *acker) stop() {
	a.once.Do(func() {
		close(a.done)
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		defer cancel()
		if err := a.flush(ctx); err != nil {
			a.q.log.Warn("queue close: delete finished jobs", "err", err)
		}
	})
}

// flush deletes the pending jobs of every queue, writing idempotency
// tombstones first so that a key is never forgotten in between.
func (a *acker) flush(ctx context.Context) error {
	if a.q.crashed.Load() {
		return nil
	}
	a.mu.Lock()
	batches := map[string]map[string]*keyDoc{}
	for queue, m := range a.pending {
		b := map[string]*keyDoc{}
		for id, k := range m {
			if len(b) == maxAckBatch {
				break
			}
			b[id] = k
		}
		if len(b) > 0 {
			batches[queue] = b
		}
	}
	a.mu.Unlock()

	var errs []error
	for queue, b := range batches {
		if err := a.deleteBatch(ctx, queue, b); err != nil {
			errs = append(errs, err)
			continue
		}
		a.mu.Lock()
		for id := range b {
			if _, ok := a.pending[queue][id]; ok {
				delete(a.pending[queue], id)
				a.total--
			}
		}
		a.since = time.Now()
		a.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (a *acker) deleteBatch(ctx context.Context, queue string, b map[string]*keyDoc) error {
	var keys []any
	ids := make([]string, 0, len(b))
	for id, k := range b {
		ids = append(ids, id)
		if k != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		_, err := a.q.keys.InsertMany(ctx, keys, options.InsertMany().SetOrdered(false))
		if err != nil && !onlyDuplicates(err) {
			return err
		}
	}
	coll, err := a.q.queueColl(ctx, queue)
	if err != nil {
		return err
	}
	// A lone _id is the one filter the embedded store pushes down.
	filter := bson.D{{Key: "_id", Value: ids[0]}}
	if len(ids) > 1 {
		filter = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}}
	}
	_, err = coll.DeleteMany(ctx, filter)
	return err
}

// onlyDuplicates reports whether err is a bulk write error made only of
// duplicate-key errors (documents that already existed).
func onlyDuplicates(err error) bool {
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
		return false
	}
	for _, we := range bwe.WriteErrors {
		if !mongo.IsDuplicateKeyError(we) {
			return false
		}
	}
	return true
}
