package queue

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// maintainLoop runs the reaper every LeaseTTL/2 and the garbage collector
// every gcInterval until ctx ends. Every instance runs both; their writes are
// fenced like a consumer's, so running them concurrently is safe.
func (q *MemoryQueue) maintainLoop(ctx context.Context) {
	t := time.NewTicker(q.cfg.LeaseTTL / 2)
	defer t.Stop()
	var lastGC time.Time
	obsolete := map[string]bool{} // claims found obsolete by the previous GC run
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if q.crashed.Load() {
			return
		}
		if err := q.reap(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("queue reaper", "err", err)
		}
		if time.Since(lastGC) >= gcInterval {
			lastGC = time.Now()
			var err error
			if obsolete, err = q.gc(ctx, obsolete, claimMinAge); err != nil && ctx.Err() == nil {
				q.log.Warn("queue garbage collector", "err", err)
			}
		}
	}
}

// reap takes back the jobs held by instances whose heartbeat stopped, and
// the orphans of this instance when it may hold claims it does not track.
func (q *MemoryQueue) reap(ctx context.Context) error {
	cutoff := time.Now().Add(-q.cfg.LeaseTTL)
	cur, err := q.owners.Find(ctx, bson.D{{Key: "seen", Value: bson.D{{Key: "$lt", Value: cutoff}}}})
	if err != nil {
		return err
	}
	var dead []ownerDoc
	if err := cur.All(ctx, &dead); err != nil {
		return err
	}
	var errs []error
	for _, o := range dead {
		if o.ID == q.owner {
			continue
		}
		if err := q.reapOwner(ctx, o.ID, false); err != nil {
			errs = append(errs, err)
			continue
		}
		q.log.Info("queue: reaped stopped consumer", "dead_owner", o.ID, "last_seen", o.Seen)
		if _, err := q.owners.DeleteOne(ctx, bson.D{{Key: "_id", Value: o.ID}}); err != nil {
			errs = append(errs, err)
		}
	}
	if q.suspect.Swap(false) {
		if err := q.reapOwner(ctx, q.owner, true); err != nil {
			q.suspect.Store(true)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reapOwner takes back every job whose current claim belongs to owner. With
// self, owner is this instance and only claims it neither runs nor finished
// (and that are older than LeaseTTL, so no claim in progress is mistaken for
// an orphan) are taken.
func (q *MemoryQueue) reapOwner(ctx context.Context, owner string, self bool) error {
	cur, err := q.claims.Find(ctx, bson.D{{Key: "owner", Value: owner}})
	if err != nil {
		return err
	}
	var cls []claimDoc
	if err := cur.All(ctx, &cls); err != nil {
		return err
	}
	// Newest generation first: per job only the highest claim can be current.
	sort.Slice(cls, func(i, j int) bool { return cls[i].Gen > cls[j].Gen })
	byQueue := map[string][]claimDoc{}
	for _, cl := range cls {
		byQueue[cl.Queue] = append(byQueue[cl.Queue], cl)
	}
	reason := fmt.Sprintf("consumer %s stopped before finishing the job (lease expired)", owner)
	for queue, list := range byQueue {
		jobs, err := q.jobsByID(ctx, queue, list)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, cl := range list {
			if seen[cl.Job] {
				continue
			}
			seen[cl.Job] = true
			j, ok := jobs[cl.Job]
			if !ok || j.Inc != cl.Inc || j.Gen > cl.Gen {
				continue // finished, or released since
			}
			if self {
				_, running := q.inflight.Load(cl.ID)
				if running || q.acks.isPending(queue, cl.Job) {
					continue
				}
				if time.Since(cl.At) < q.cfg.LeaseTTL {
					q.suspect.Store(true) // look again later
					continue
				}
			}
			if err := q.takeBack(ctx, j, cl, reason); err != nil {
				return err
			}
		}
	}
	return nil
}

// jobsByID loads the pending jobs the claims refer to.
func (q *MemoryQueue) jobsByID(ctx context.Context, queue string, cls []claimDoc) (map[string]jobDoc, error) {
	coll, err := q.queueColl(ctx, queue)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(cls))
	for _, cl := range cls {
		ids = append(ids, cl.Job)
	}
	cur, err := coll.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}},
		options.Find().SetProjection(bson.D{{Key: "payload", Value: 0}}))
	if err != nil {
		return nil, err
	}
	var docs []jobDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := make(map[string]jobDoc, len(docs))
	for _, d := range docs {
		out[d.ID] = d
	}
	return out, nil
}

// takeBack releases job j whose current claim cl belongs to a dead consumer.
// The reaper first claims the next generation itself, so that of several
// reapers exactly one writes, and then moves the job two generations on. The
// lost delivery counts as an attempt, so a job that keeps killing its
// consumers ends up dead-lettered.
func (q *MemoryQueue) takeBack(ctx context.Context, j jobDoc, cl claimDoc, reason string) error {
	now := time.Now()
	rc := claimDoc{
		ID: claimID(j.ID, j.Inc, cl.Gen+1), Queue: j.Queue, Job: j.ID, Inc: j.Inc, Gen: cl.Gen + 1,
		Kind: claimReap, Owner: q.owner, At: now,
	}
	if _, err := q.claims.InsertOne(ctx, rc); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return nil // another reaper has it
		}
		return err
	}
	attempts := j.Attempts
	if cl.Kind == claimRun {
		attempts++
	}
	err := q.writeJob(j, bson.D{
		{Key: "gen", Value: cl.Gen + 2},
		{Key: "attempts", Value: attempts},
		{Key: "due", Value: now.UnixNano()},
		{Key: "last_error", Value: reason},
	})
	if err != nil {
		return err
	}
	q.log.Info("queue: job taken back from stopped consumer", "queue", j.Queue, "job", j.ID, "tenant", j.Tenant)
	q.wake.notify(j.Queue, now)
	return nil
}

// gc deletes claims that can no longer fence anything and idempotency keys
// past Retention. A claim is obsolete when its job is gone, is another
// incarnation, or has moved to a later generation. It is deleted only when
// the previous run (gcInterval ago, far longer than maxCandidateAge) already
// found it obsolete, so no consumer can still hold a candidate it fences.
// Only claims older than minAge are looked at. gc returns the claims found
// obsolete this time.
func (q *MemoryQueue) gc(ctx context.Context, prev map[string]bool, minAge time.Duration) (map[string]bool, error) {
	now := time.Now()
	cur, err := q.claims.Find(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-minAge)}}}},
		options.Find().SetLimit(5000))
	if err != nil {
		return prev, err
	}
	var cls []claimDoc
	if err := cur.All(ctx, &cls); err != nil {
		return prev, err
	}
	byQueue := map[string][]claimDoc{}
	for _, cl := range cls {
		byQueue[cl.Queue] = append(byQueue[cl.Queue], cl)
	}
	obsolete := map[string]bool{}
	var del []string
	for queue, list := range byQueue {
		jobs, err := q.jobsByID(ctx, queue, list)
		if err != nil {
			return prev, err
		}
		for _, cl := range list {
			j, ok := jobs[cl.Job]
			if ok && j.Inc == cl.Inc && j.Gen <= cl.Gen {
				continue
			}
			obsolete[cl.ID] = true
			if prev[cl.ID] {
				del = append(del, cl.ID)
			}
		}
	}
	var errs []error
	if len(del) > 0 {
		if _, err := q.claims.DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: del}}}}); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := q.keys.DeleteMany(ctx, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: now.Add(-q.cfg.Retention)}}}}); err != nil {
		errs = append(errs, err)
	}
	return obsolete, errors.Join(errs...)
}
