package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
)

// Why the store-backed queue fences with inserts.
//
// FerretDB 1.24 over SQLite (the embedded store) runs findAndModify and
// update as "query, then UPDATE … WHERE _id = ?" in separate transactions: two
// consumers racing for the same job both succeed (measured: 167 of 200 jobs
// were claimed twice by 8 concurrent findOneAndUpdate callers). Inserts, on
// the other hand, are checked by SQLite's unique indexes and are atomic, as
// they are on MongoDB. So a consumer claims generation g of a job by
// inserting the claim document "<job>/<inc>/<g>": exactly one insert wins.
// The job document is written only by the holder of its current claim.
//
// FerretDB 1.24 also pushes down no filter but a lone _id to SQLite, and even
// then SQLite scans (its _id index is on a different expression). A point
// update therefore costs a table scan, while an insert and a filtered find
// with a limit stop early. The hot path is shaped accordingly: a claim is an
// insert, a success is a batched delete, and only retries update a job.

// MemoryConfig tunes a MemoryQueue. Zero values mean the defaults given on
// each field.
type MemoryConfig struct {
	// Collection prefixes the store collections: {prefix}.q.{queue} (pending
	// jobs), {prefix}.claims, {prefix}.dead, {prefix}.keys, {prefix}.owners.
	// Default "jobs".
	Collection string
	// LeaseTTL is how long a MemoryQueue may miss its heartbeat before the
	// jobs its consumers hold are redelivered. Heartbeats run every
	// LeaseTTL/3. Default 30s.
	LeaseTTL time.Duration
	// PollInterval is how often an idle consumer looks for jobs that no
	// in-process event announced: delayed jobs published elsewhere, jobs from
	// other processes sharing the store. Default 1s.
	PollInterval time.Duration
	// Retention is how long an idempotency key is remembered after its job
	// succeeded. Default 24h.
	Retention time.Duration
}

// Memory queue defaults.
const (
	DefaultLeaseTTL     = 30 * time.Second
	DefaultPollInterval = time.Second
	DefaultRetention    = 24 * time.Hour
)

func (c MemoryConfig) withDefaults() MemoryConfig {
	if c.Collection == "" {
		c.Collection = "jobs"
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	return c
}

// Internal tuning of the store-backed queue.
const (
	// scanBatch is how many due jobs one scan fetches beyond those the
	// consumer already knows to skip.
	scanBatch = 128
	// maxCandidateAge bounds how long a scanned job may be claimed from. The
	// claim garbage collector waits much longer than this, so a stale
	// candidate always meets its claim.
	maxCandidateAge = 10 * time.Second
	// lostTTL is how long a consumer skips a job another consumer claimed.
	lostTTL = 10 * time.Second
	// gcInterval is the period of the claim and key garbage collector; a
	// claim is deleted only when two consecutive runs found it obsolete.
	gcInterval = time.Minute
	// claimMinAge is how old a claim must be before the collector looks at it.
	claimMinAge = 10 * time.Minute
	// writeTimeout bounds store writes made after a consumer's ctx ended.
	writeTimeout = 10 * time.Second
)

// MemoryQueue is the embedded default Queue: jobs live in the document store
// (system collections, each job carrying its tenant as a field), so they
// survive a restart, and any number of MemoryQueue instances in one or more
// processes sharing the store compete for them safely.
//
// Consumers in the same process are woken at once by Publish; others find
// new jobs within PollInterval. Delivery is at least once: a process that
// dies mid-job has the job redelivered after LeaseTTL.
type MemoryQueue struct {
	s     *store.Store
	cfg   MemoryConfig
	log   *slog.Logger
	owner string // this instance's identity in claims and owners

	claims *mongo.Collection
	dead   *mongo.Collection
	keys   *mongo.Collection
	owners *mongo.Collection

	mu     sync.Mutex
	colls  map[string]*mongo.Collection // pending-job collections with indexes ensured
	closed bool

	wake *wakeHub
	acks *acker
	// inflight holds the claim IDs this instance is running.
	inflight sync.Map
	// lastBeat is the Unix nanosecond time of the last successful heartbeat.
	lastBeat atomic.Int64
	// suspect is set when this instance may hold a claim it does not track
	// (an insert whose outcome is unknown, a skipped release); the reaper
	// then looks for such orphans.
	suspect atomic.Bool
	// crashed makes the instance stop writing anything, as if its process
	// died; tests use it to simulate a crash.
	crashed atomic.Bool

	bgCancel  context.CancelFunc
	bg        sync.WaitGroup
	consumers sync.WaitGroup
	stop      chan struct{}
	closeOnce sync.Once
}

// NewMemoryQueue opens the store-backed queue on s. ctx bounds the initial
// index creation and heartbeat only. The queue runs background goroutines
// (heartbeat, reaper, garbage collector, batched acknowledgements) until
// Close.
func NewMemoryQueue(ctx context.Context, s *store.Store, cfg MemoryConfig, log *slog.Logger) (*MemoryQueue, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil store", ErrUnavailable)
	}
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	q := &MemoryQueue{
		s:      s,
		cfg:    cfg,
		owner:  randomID()[:16],
		claims: s.System(cfg.Collection + ".claims"),
		dead:   s.System(cfg.Collection + ".dead"),
		keys:   s.System(cfg.Collection + ".keys"),
		owners: s.System(cfg.Collection + ".owners"),
		colls:  map[string]*mongo.Collection{},
		stop:   make(chan struct{}),
	}
	q.log = log.With("component", "queue", "backend", backendMemory, "owner", q.owner)
	if err := q.ensureIndexes(ctx); err != nil {
		return nil, err
	}
	if err := q.heartbeat(ctx); err != nil {
		return nil, err
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	q.bgCancel = cancel
	q.wake = newWakeHub()
	q.acks = newAcker(q)
	q.bg.Add(3)
	go func() { defer q.bg.Done(); q.heartbeatLoop(bgCtx) }()
	go func() { defer q.bg.Done(); q.maintainLoop(bgCtx) }()
	go func() { defer q.bg.Done(); q.acks.run(bgCtx) }()
	return q, nil
}

func (q *MemoryQueue) ensureIndexes(ctx context.Context) error {
	idx := []struct {
		c *mongo.Collection
		m []mongo.IndexModel
	}{
		{q.claims, []mongo.IndexModel{{Keys: bson.D{{Key: "owner", Value: 1}}}, {Keys: bson.D{{Key: "at", Value: 1}}}}},
		{q.dead, []mongo.IndexModel{{Keys: bson.D{{Key: "queue", Value: 1}, {Key: "dead_at", Value: 1}}}}},
		{q.keys, []mongo.IndexModel{{Keys: bson.D{{Key: "at", Value: 1}}}}},
	}
	for _, x := range idx {
		if err := createIndexes(ctx, x.c, x.m...); err != nil {
			return err
		}
	}
	return nil
}

// createIndexes creates indexes one call each: FerretDB 1.24 fails a
// createIndexes call that names two or more existing indexes (it deletes
// from the list it iterates), which is every call after the first start.
func createIndexes(ctx context.Context, c *mongo.Collection, models ...mongo.IndexModel) error {
	for _, m := range models {
		if _, err := c.Indexes().CreateOne(ctx, m); err != nil {
			return fmt.Errorf("%w: indexes on %s: %w", ErrUnavailable, c.Name(), err)
		}
	}
	return nil
}

// queueColl returns the pending-job collection of queue, creating its
// indexes on first use. The (due) index serves MongoDB; the sparse unique
// idem index makes idempotency keys unique among pending jobs everywhere.
func (q *MemoryQueue) queueColl(ctx context.Context, queue string) (*mongo.Collection, error) {
	q.mu.Lock()
	c, ok := q.colls[queue]
	q.mu.Unlock()
	if ok {
		return c, nil
	}
	c = q.s.System(q.cfg.Collection + ".q." + queue)
	err := createIndexes(ctx, c,
		mongo.IndexModel{Keys: bson.D{{Key: "idem", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
		mongo.IndexModel{Keys: bson.D{{Key: "due", Value: 1}}},
	)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.colls[queue] = c
	q.mu.Unlock()
	return c, nil
}

// Publish stores job in its queue's collection and returns its ID once the
// insert is acknowledged. Publishing an ID or an idempotency key that is
// already pending (or a key that succeeded within Retention, or died) is a
// no-op returning the existing job's ID.
func (q *MemoryQueue) Publish(ctx context.Context, job Job) (string, error) {
	if q.isClosed() {
		return "", ErrClosed
	}
	job, err := prepare(job)
	if err != nil {
		return "", err
	}
	coll, err := q.queueColl(ctx, job.Queue)
	if err != nil {
		return "", err
	}
	if job.IdempotencyKey != "" {
		var k keyDoc
		err := q.keys.FindOne(ctx, bson.D{{Key: "_id", Value: keyDocID(job.Queue, job.IdempotencyKey)}}).Decode(&k)
		switch {
		case err == nil:
			return k.Job, nil
		case !errors.Is(err, mongo.ErrNoDocuments):
			return "", fmt.Errorf("%w: idempotency key lookup: %w", ErrUnavailable, err)
		}
	}
	d := newJobDoc(job, time.Now())
	if _, err := coll.InsertOne(ctx, d); err != nil {
		if !mongo.IsDuplicateKeyError(err) {
			return "", fmt.Errorf("%w: publish: %w", ErrUnavailable, err)
		}
		return q.existing(ctx, coll, job), nil
	}
	publishedTotal.WithLabelValues(backendMemory, job.Queue).Inc()
	q.wake.notify(job.Queue, time.Unix(0, d.Due))
	return job.ID, nil
}

// existing returns the ID of the pending job a duplicate insert collided
// with: the same ID, or another ID with the same idempotency key.
func (q *MemoryQueue) existing(ctx context.Context, coll *mongo.Collection, job Job) string {
	if job.IdempotencyKey == "" {
		return job.ID
	}
	var d jobDoc
	err := coll.FindOne(ctx, bson.D{{Key: "idem", Value: job.IdempotencyKey}},
		options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&d)
	if err != nil || d.ID == "" {
		return job.ID
	}
	return d.ID
}

// DeadLetters returns up to limit (default and at most 1000) dead jobs of
// queue, oldest first. Dead letters are kept until an operator removes them.
func (q *MemoryQueue) DeadLetters(ctx context.Context, queue string, limit int) ([]Job, error) {
	if err := ValidQueueName(queue); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	cur, err := q.dead.Find(ctx, bson.D{{Key: "queue", Value: queue}},
		options.Find().SetSort(bson.D{{Key: "dead_at", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("%w: dead letters: %w", ErrUnavailable, err)
	}
	var docs []deadDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("%w: dead letters: %w", ErrUnavailable, err)
	}
	jobs := make([]Job, len(docs))
	for i, d := range docs {
		jobs[i] = d.job()
	}
	return jobs, nil
}

// Ping checks that the store answers.
func (q *MemoryQueue) Ping(ctx context.Context) error {
	if err := q.s.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close stops the consumers still running (their handlers see a cancelled
// context), writes the pending acknowledgements, stops the background
// goroutines and marks this instance gone so that other instances take over
// anything it still held at once. It does not close the store. Close is
// idempotent.
func (q *MemoryQueue) Close() error {
	q.closeOnce.Do(func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		close(q.stop)
		q.consumers.Wait()
		q.acks.stop()
		q.bgCancel()
		q.bg.Wait()
		q.wake.close()
		if !q.crashed.Load() {
			ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
			defer cancel()
			_, err := q.owners.UpdateOne(ctx, bson.D{{Key: "_id", Value: q.owner}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "seen", Value: time.Unix(0, 0).UTC()}}}})
			if err != nil {
				q.log.Warn("queue close: mark owner gone", "err", err)
			}
		}
	})
	return nil
}

func (q *MemoryQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

// alive reports whether this instance may still write the jobs it holds: its
// last heartbeat is recent enough that no reaper can have judged it dead.
func (q *MemoryQueue) alive() bool {
	if q.crashed.Load() {
		return false
	}
	return time.Since(time.Unix(0, q.lastBeat.Load())) < q.cfg.LeaseTTL/2
}

// heartbeat records that this instance is alive.
func (q *MemoryQueue) heartbeat(ctx context.Context) error {
	now := time.Now()
	_, err := q.owners.UpdateOne(ctx, bson.D{{Key: "_id", Value: q.owner}}, bson.D{
		{Key: "$set", Value: bson.D{{Key: "seen", Value: now}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "started", Value: now}}},
	}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("%w: heartbeat: %w", ErrUnavailable, err)
	}
	q.lastBeat.Store(now.UnixNano())
	return nil
}

func (q *MemoryQueue) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(q.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if q.crashed.Load() {
			return
		}
		if err := q.heartbeat(ctx); err != nil && ctx.Err() == nil {
			q.log.Warn("queue heartbeat failed", "err", err)
		}
	}
}
