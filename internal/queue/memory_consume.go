package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// memConsumer is one Consume call on a MemoryQueue.
type memConsumer struct {
	q     *MemoryQueue
	queue string
	h     Handler
	opts  ConsumeOptions
	// held has one token per claimed job (running or waiting to run): up to
	// twice the concurrency, so that claims are made in chunks.
	held chan struct{}
	// slots has one token per running handler.
	slots chan struct{}
	wg    sync.WaitGroup
	// lost maps claim IDs that another consumer won to when that was seen;
	// scans skip them for lostTTL.
	lost map[string]time.Time
	// holding counts this consumer's claimed jobs, for the scan limit.
	holding atomic.Int64
}

// Consume runs h for the jobs of queue until ctx is done or the queue is
// closed, then waits for the running handlers and returns nil.
func (q *MemoryQueue) Consume(ctx context.Context, queue string, h Handler, opts ConsumeOptions) error {
	ctx, opts, done, err := q.gate().begin(ctx, queue, h, opts)
	if err != nil {
		return err
	}
	defer done()
	c := &memConsumer{
		q:     q,
		queue: queue,
		h:     h,
		opts:  opts,
		held:  make(chan struct{}, 2*opts.Concurrency),
		slots: make(chan struct{}, opts.Concurrency),
		lost:  map[string]time.Time{},
	}
	c.run(ctx)
	return nil
}

// run alternates scanning for due jobs and claiming them, and idles until a
// wake-up or the poll interval when there is nothing to do.
func (c *memConsumer) run(ctx context.Context) {
	defer c.wg.Wait()
	wake, unsubscribe := c.q.wake.subscribe(c.queue)
	defer unsubscribe()
	failures := 0
	for ctx.Err() == nil && !c.q.crashed.Load() {
		scanned := time.Now()
		cands, err := c.scan(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			if failures == 1 || failures%60 == 0 {
				c.q.log.Warn("queue scan failed", "queue", c.queue, "err", err, "failures", failures)
			}
			c.idle(ctx, wake)
			continue
		}
		failures = 0
		if len(cands) == 0 {
			c.idle(ctx, wake)
			continue
		}
		if !c.dispatch(ctx, cands, scanned) {
			c.idle(ctx, wake) // the store refused a claim: do not spin
		}
	}
}

// idle waits for a wake-up, the poll interval or the end of ctx.
func (c *memConsumer) idle(ctx context.Context, wake <-chan struct{}) {
	t := time.NewTimer(c.q.cfg.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// scan fetches due jobs in storage order (FIFO on the embedded store),
// skipping the ones this instance holds or has finished and the ones other
// consumers were seen to hold. The limit grows by the number skipped so that
// they cannot crowd out the rest.
func (c *memConsumer) scan(ctx context.Context) ([]jobDoc, error) {
	now := time.Now()
	for id, at := range c.lost {
		if now.Sub(at) > lostTTL {
			delete(c.lost, id)
		}
	}
	coll, err := c.q.queueColl(ctx, c.queue)
	if err != nil {
		return nil, err
	}
	limit := scanBatch + len(c.lost) + int(c.holding.Load()) + c.q.acks.count(c.queue)
	cur, err := coll.Find(ctx, bson.D{{Key: "due", Value: bson.D{{Key: "$lte", Value: now.UnixNano()}}}},
		options.Find().SetLimit(int64(limit)))
	if err != nil {
		return nil, err
	}
	var docs []jobDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, err
	}
	out := docs[:0]
	for _, d := range docs {
		cid := claimID(d.ID, d.Inc, d.Gen)
		if _, skip := c.lost[cid]; skip {
			continue
		}
		if _, skip := c.q.inflight.Load(cid); skip {
			continue
		}
		if c.q.acks.isPending(c.queue, d.ID) {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// dispatch claims candidates in chunks of up to Concurrency as claimed jobs
// finish, and starts a handler for each claim won. It returns when the
// candidates are used up or too old, reporting false if a claim failed.
//
// Competing consumers scan the same head of the queue. Each walks it from a
// random point and jumps to another one after losing a claim, so that they
// spread out instead of all reaching for the same jobs.
func (c *memConsumer) dispatch(ctx context.Context, cands []jobDoc, scanned time.Time) bool {
	rest := rotate(cands, rand.IntN(len(cands)))
	for len(rest) > 0 {
		want := min(c.opts.Concurrency, len(rest))
		n := 0
		for n < want {
			select {
			case c.held <- struct{}{}:
				n++
			case <-ctx.Done():
				c.unhold(n)
				return true
			}
		}
		if time.Since(scanned) > maxCandidateAge || c.q.crashed.Load() {
			c.unhold(n)
			return true
		}
		chunk := rest[:n]
		rest = rest[n:]
		won, ok := c.claim(ctx, chunk)
		c.unhold(n - len(won))
		if !ok {
			return false
		}
		for _, d := range won {
			c.start(ctx, d)
		}
		if len(won) < n && len(rest) > 1 {
			rest = rotate(rest, rand.IntN(len(rest)))
		}
	}
	return true
}

// unhold returns n claim tokens.
func (c *memConsumer) unhold(n int) {
	for range n {
		<-c.held
	}
}

// rotate returns s starting at index i and wrapping around.
func rotate(s []jobDoc, i int) []jobDoc {
	out := make([]jobDoc, 0, len(s))
	out = append(out, s[i:]...)
	return append(out, s[:i]...)
}

// claim inserts one claim per candidate; the inserts that succeed are the
// jobs this consumer now holds. ok is false when the store failed.
func (c *memConsumer) claim(ctx context.Context, chunk []jobDoc) (won []jobDoc, ok bool) {
	now := time.Now()
	docs := make([]any, len(chunk))
	for i, d := range chunk {
		docs[i] = claimDoc{
			ID: claimID(d.ID, d.Inc, d.Gen), Queue: c.queue, Job: d.ID, Inc: d.Inc, Gen: d.Gen,
			Kind: claimRun, Owner: c.q.owner, At: now,
		}
		c.q.inflight.Store(claimID(d.ID, d.Inc, d.Gen), struct{}{})
	}
	_, err := c.q.claims.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	lostIdx := map[int]bool{}
	if err != nil {
		var bwe mongo.BulkWriteException
		if !errors.As(err, &bwe) || bwe.WriteConcernError != nil {
			// Which inserts landed is unknown: run none, and let the reaper
			// release whatever this instance turns out to hold.
			c.q.suspect.Store(true)
			if ctx.Err() == nil {
				c.q.log.Warn("queue claim failed", "queue", c.queue, "err", err)
			}
			for _, d := range chunk {
				c.q.inflight.Delete(claimID(d.ID, d.Inc, d.Gen))
			}
			return nil, false
		}
		for _, we := range bwe.WriteErrors {
			lostIdx[we.Index] = true
		}
	}
	won = make([]jobDoc, 0, len(chunk))
	for i, d := range chunk {
		if lostIdx[i] {
			cid := claimID(d.ID, d.Inc, d.Gen)
			c.lost[cid] = now
			c.q.inflight.Delete(cid)
			continue
		}
		won = append(won, d)
	}
	return won, true
}

// start runs d's handler on its own goroutine once a handler slot is free;
// its claim token is returned when it ends.
func (c *memConsumer) start(ctx context.Context, d jobDoc) {
	c.wg.Add(1)
	c.holding.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.unhold(1)
		defer c.holding.Add(-1)
		defer c.q.inflight.Delete(claimID(d.ID, d.Inc, d.Gen))
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			if !c.q.crashed.Load() {
				c.q.release(d, outcomeInterrupt, c.opts.Policy, "consumer stopped before running the job")
			}
			return
		}
		defer func() { <-c.slots }()
		c.process(ctx, d)
	}()
}

// process runs the handler for a claimed job and records the outcome.
func (c *memConsumer) process(ctx context.Context, d jobDoc) {
	job := d.job()
	p := c.opts.Policy
	if job.Attempt > p.MaxAttempts {
		// Deliveries were lost with their consumers until the budget ran out.
		c.q.deadLetter(d, job.Attempt-1, d.LastError)
		countProcessed(backendMemory, c.queue, outcomeDead)
		return
	}
	// Due already honours NotBefore; this guards against clocks of other
	// processes that share the store.
	if !job.NotBefore.IsZero() && !waitUntil(ctx, job.NotBefore) {
		c.q.release(d, outcomeInterrupt, p, "consumer stopped")
		return
	}
	err := runHandler(ctx, c.h, job, backendMemory)
	if c.q.crashed.Load() {
		return
	}
	o := decide(err, job.Attempt, p, ctx.Err() != nil)
	countProcessed(backendMemory, c.queue, o)
	switch o {
	case outcomeAck:
		c.q.acks.add(c.queue, d.ID, tombstone(d))
	case outcomeDead:
		c.q.deadLetter(d, job.Attempt, truncateError(err))
	default:
		c.q.release(d, o, p, truncateError(err))
	}
}

// tombstone returns the idempotency tombstone of a finished job, or nil.
func tombstone(d jobDoc) *keyDoc {
	if d.Idem == "" {
		return nil
	}
	return &keyDoc{ID: keyDocID(d.Queue, d.Idem), Job: d.ID, At: time.Now()}
}

// release hands a job held by this instance back to the queue: after a
// backoff for a retry, at once for an interruption (which does not count as
// an attempt). Only the claim holder writes the job, and only while its
// heartbeat is fresh; otherwise the write is skipped and the reaper sorts it
// out.
func (q *MemoryQueue) release(d jobDoc, o outcome, p Policy, lastErr string) {
	if !q.alive() {
		q.suspect.Store(true)
		q.log.Warn("queue: heartbeat stale, not releasing job", "queue", d.Queue, "job", d.ID)
		return
	}
	attempts, due := d.Attempts, time.Now()
	if o == outcomeRetry {
		attempts++
		due = due.Add(p.Backoff(attempts))
	}
	set := bson.D{
		{Key: "gen", Value: d.Gen + 1},
		{Key: "attempts", Value: attempts},
		{Key: "due", Value: due.UnixNano()},
		{Key: "last_error", Value: lastErr},
	}
	if err := q.writeJob(d, set); err != nil {
		q.suspect.Store(true)
		q.log.Warn("queue: release job", "queue", d.Queue, "job", d.ID, "err", err)
		return
	}
	q.wake.notify(d.Queue, due)
}

// writeJob sets fields of a pending job.
func (q *MemoryQueue) writeJob(d jobDoc, set bson.D) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	coll, err := q.queueColl(ctx, d.Queue)
	if err != nil {
		return err
	}
	_, err = coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}}, bson.D{{Key: "$set", Value: set}})
	return err
}

// deadLetter moves a job held by this instance to the dead letters, keeping
// its last error; the pending copy is deleted with the next ack batch.
func (q *MemoryQueue) deadLetter(d jobDoc, attempts int, lastErr string) {
	if !q.alive() {
		q.suspect.Store(true)
		q.log.Warn("queue: heartbeat stale, not dead-lettering job", "queue", d.Queue, "job", d.ID)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	_, err := q.dead.InsertOne(ctx, d.dead(attempts, lastErr, time.Now()))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		q.suspect.Store(true)
		q.log.Warn("queue: dead-letter job", "queue", d.Queue, "job", d.ID, "err", fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	q.log.Info("queue: job dead-lettered", "queue", d.Queue, "job", d.ID, "tenant", d.Tenant, "attempts", attempts, "last_error", lastErr)
	q.acks.add(d.Queue, d.ID, tombstone(d))
}
