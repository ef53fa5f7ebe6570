package chat

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// retryInterval is how often events whose archive write failed are retried.
const retryInterval = time.Second

// eventDoc is one archived room event in collection chat_events. (room, seq)
// is unique per tenant.
type eventDoc struct {
	Room string `bson:"room"`
	Seq  int64  `bson:"seq"`
	Type string `bson:"type"`
	// Author is the subject who caused the event (message author), for
	// ownership checks on edit and delete.
	Author string `bson:"author,omitempty"`
	// Data is the JSON payload as clients receive it; edits and deletions
	// rewrite it so that paging returns the current state of a message.
	Data string `bson:"data"`
}

// event converts the document back.
func (d *eventDoc) event() *Event {
	return &Event{Seq: uint64(d.Seq), Type: d.Type, Data: []byte(d.Data)}
}

// archiveReq is one event waiting for the group-commit writer, or a
// barrier (barrier set, no document) that is answered once everything
// queued before it has been committed or kept for retry.
type archiveReq struct {
	t       tenant.ID
	doc     eventDoc
	barrier bool
	done    chan error // buffered 1; nil when nobody waits (enqueue)
}

// archive writes every room event to the store and reads it back for resume
// and paging. Writes are asynchronous (docs/decisions.md, "Chat ack and the
// archive"): the send path only queues the event (enqueue) after it is in
// recent history, and one goroutine commits whatever has queued up as one
// InsertMany per tenant (group commit). Reads that must see the newest
// events (a message being edited, a history page) first wait for the queue
// to drain up to their call (sync). An event whose write fails is kept and
// retried every retryInterval (at most maxRetry of them; while that list is
// full, sends are refused: Service.appendEvent).
type archive struct {
	coll    *store.Collection
	log     *slog.Logger
	batch   int
	timeout time.Duration

	reqs chan *archiveReq
	stop chan struct{}
	done sync.WaitGroup

	mu       sync.Mutex
	retry    []*archiveReq // failed writes, oldest first
	maxRetry int
}

// newArchive starts the writer and retry goroutines; close stops them.
func newArchive(coll *store.Collection, cfg Config, log *slog.Logger) *archive {
	a := &archive{
		coll:     coll,
		log:      log,
		batch:    cfg.ArchiveBatch,
		timeout:  cfg.BackendTimeout,
		reqs:     make(chan *archiveReq, cfg.ArchiveBatch*4),
		stop:     make(chan struct{}),
		maxRetry: cfg.ArchiveRetryMax,
	}
	a.done.Add(2)
	go a.writer()
	go a.retrier()
	return a
}

// indexes are the archive's indexes (each prefixed with the tenant).
func (a *archive) indexes() []mongo.IndexModel {
	return []mongo.IndexModel{
		{Keys: bson.D{{Key: "room", Value: 1}, {Key: "seq", Value: 1}}, Options: options.Index().SetUnique(true)},
	}
}

// enqueue hands ev to the writer without waiting for its commit. It
// returns nil once the writer (or, when the writer stays behind for as long
// as ctx allows, the retry list) owns the event; an error means the event is
// in recent history only (the retry list is full, or the archive is closed).
func (a *archive) enqueue(ctx context.Context, k RoomKey, ev *Event, author string) error {
	r := &archiveReq{t: k.Tenant, doc: eventDoc{
		Room: k.Room, Seq: int64(ev.Seq), Type: ev.Type, Author: author, Data: string(ev.Data),
	}}
	select {
	case <-a.stop:
		return ErrClosed
	default:
	}
	select {
	case a.reqs <- r:
		return nil
	default:
	}
	// The writer is behind (the store is slow): wait for room, then fall
	// back to the retry list, which the retrier drains in order.
	select {
	case a.reqs <- r:
		return nil
	case <-a.stop:
		return ErrClosed
	case <-ctx.Done():
		return a.keep(r)
	}
}

// sync waits until every event enqueued before the call has been committed
// (or kept for retry), bounded by ctx: reads that must see the newest
// events call it first.
func (a *archive) sync(ctx context.Context) error {
	r := &archiveReq{barrier: true, done: make(chan error, 1)}
	select {
	case a.reqs <- r:
	case <-a.stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("%w: archive sync: %w", ErrUnavailable, ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: archive sync: %w", ErrUnavailable, ctx.Err())
	}
}

// backlogFull reports whether the retry list is at its bound; sends are then
// refused rather than acknowledged without an archive copy.
func (a *archive) backlogFull() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.retry) >= a.maxRetry
}

// keep adds a failed write to the retry list; an error when it is full.
func (a *archive) keep(r *archiveReq) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.retry) >= a.maxRetry {
		a.log.Error("chat archive retry list full; event kept only in recent history",
			"tenant", r.t, "room", r.doc.Room, "seq", r.doc.Seq)
		archiveLost.Inc()
		return fmt.Errorf("%w: archive retry list full", ErrUnavailable)
	}
	a.retry = append(a.retry, r)
	archiveBacklog.Set(float64(len(a.retry)))
	return nil
}

// writer is the group-commit loop.
func (a *archive) writer() {
	defer a.done.Done()
	batch := make([]*archiveReq, 0, a.batch)
	for {
		select {
		case r := <-a.reqs:
			batch = append(batch[:0], r)
		drain:
			for len(batch) < a.batch {
				select {
				case r := <-a.reqs:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			a.commit(batch)
		case <-a.stop:
			for {
				select {
				case r := <-a.reqs:
					a.commit([]*archiveReq{r})
				default:
					return
				}
			}
		}
	}
}

// commit writes a batch, one InsertMany per tenant, and answers every
// request. When InsertMany fails the documents are retried one by one so
// that each request learns its own outcome; a duplicate key means the event
// is already archived and counts as success.
func (a *archive) commit(batch []*archiveReq) {
	byTenant := make(map[tenant.ID][]*archiveReq, 1)
	var barriers []*archiveReq
	for _, r := range batch {
		if r.barrier {
			barriers = append(barriers, r)
			continue
		}
		byTenant[r.t] = append(byTenant[r.t], r)
	}
	// Barriers are answered after the events queued with them: everything
	// before a barrier is then committed or kept for retry.
	defer func() {
		for _, r := range barriers {
			r.done <- nil
		}
	}()
	if len(byTenant) == 0 {
		return
	}
	archiveBatchSize.Observe(float64(len(batch) - len(barriers)))
	for t, rs := range byTenant {
		ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
		docs := make([]any, len(rs))
		for i, r := range rs {
			docs[i] = r.doc
		}
		err := a.coll.Tenant(t).InsertMany(ctx, docs)
		cancel()
		if err == nil {
			for _, r := range rs {
				r.answer(nil)
			}
			continue
		}
		for _, r := range rs {
			err := a.insertOne(r)
			if err != nil {
				a.log.Warn("chat archive write failed; will retry", "tenant", t, "room", r.doc.Room, "seq", r.doc.Seq, "err", err)
				err = a.keep(r)
			}
			r.answer(err)
		}
	}
}

// answer tells a waiting caller the outcome of its request, if one waits.
func (r *archiveReq) answer(err error) {
	if r.done != nil {
		r.done <- err
	}
}

// insertOne writes one document; duplicates are success.
func (a *archive) insertOne(r *archiveReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout)
	defer cancel()
	err := a.coll.Tenant(r.t).InsertOne(ctx, r.doc)
	if err == nil || store.IsDuplicate(err) {
		return nil
	}
	return fmt.Errorf("%w: archive: %w", ErrUnavailable, err)
}

// retrier re-archives failed writes until they succeed or the archive closes.
func (a *archive) retrier() {
	defer a.done.Done()
	tick := time.NewTicker(retryInterval)
	defer tick.Stop()
	for {
		select {
		case <-a.stop:
			a.mu.Lock()
			if n := len(a.retry); n > 0 {
				a.log.Error("chat archive closed with unarchived events; they remain in recent history only", "events", n)
			}
			a.mu.Unlock()
			return
		case <-tick.C:
			a.retryOnce()
		}
	}
}

// retryOnce tries every kept write once, oldest first, stopping at the
// first failure (the store is evidently still down).
func (a *archive) retryOnce() {
	a.mu.Lock()
	pending := slices.Clone(a.retry)
	a.mu.Unlock()
	ok := 0
	for _, r := range pending {
		if err := a.insertOne(r); err != nil {
			break
		}
		ok++
	}
	if ok == 0 {
		return
	}
	a.mu.Lock()
	a.retry = a.retry[ok:]
	archiveBacklog.Set(float64(len(a.retry)))
	a.mu.Unlock()
	a.log.Info("chat archive caught up after a store failure", "events", ok)
}

// close stops the goroutines after committing what is queued.
func (a *archive) close() {
	close(a.stop)
	a.done.Wait()
}

// maxSeq returns the highest archived sequence of the room, 0 if none.
func (a *archive) maxSeq(ctx context.Context, k RoomKey) (uint64, error) {
	var d eventDoc
	err := a.coll.Tenant(k.Tenant).FindOne(ctx, bson.D{{Key: "room", Value: k.Room}}, &d,
		options.FindOne().SetSort(bson.D{{Key: "seq", Value: -1}}).SetProjection(bson.D{{Key: "seq", Value: 1}}))
	if store.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("%w: archive max seq: %w", ErrUnavailable, err)
	}
	return uint64(d.Seq), nil
}

// rangeAsc returns archived events with after < seq < before (before 0
// meaning no upper bound), ascending, at most limit.
func (a *archive) rangeAsc(ctx context.Context, k RoomKey, after, before uint64, limit int) ([]*Event, error) {
	cond := bson.D{{Key: "$gt", Value: int64(after)}}
	if before > 0 {
		cond = append(cond, bson.E{Key: "$lt", Value: int64(before)})
	}
	var docs []eventDoc
	err := a.coll.Tenant(k.Tenant).Find(ctx, bson.D{{Key: "room", Value: k.Room}, {Key: "seq", Value: cond}}, &docs,
		options.Find().SetSort(bson.D{{Key: "seq", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("%w: archive range: %w", ErrUnavailable, err)
	}
	return toEvents(docs), nil
}

// page returns up to limit archived events of the given types with seq <
// before (0: newest), ascending, and whether older ones exist.
func (a *archive) page(ctx context.Context, k RoomKey, before uint64, limit int, types []string) ([]*Event, bool, error) {
	f := bson.D{{Key: "room", Value: k.Room}, {Key: "type", Value: bson.D{{Key: "$in", Value: types}}}}
	if before > 0 {
		f = append(f, bson.E{Key: "seq", Value: bson.D{{Key: "$lt", Value: int64(before)}}})
	}
	var docs []eventDoc
	err := a.coll.Tenant(k.Tenant).Find(ctx, f, &docs,
		options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, false, fmt.Errorf("%w: archive page: %w", ErrUnavailable, err)
	}
	more := len(docs) > limit
	if more {
		docs = docs[:limit]
	}
	slices.Reverse(docs)
	return toEvents(docs), more, nil
}

// get returns the archived event seq of the room; store.ErrNotFound if none.
func (a *archive) get(ctx context.Context, k RoomKey, seq uint64) (*eventDoc, error) {
	var d eventDoc
	err := a.coll.Tenant(k.Tenant).FindOne(ctx, bson.D{{Key: "room", Value: k.Room}, {Key: "seq", Value: int64(seq)}}, &d)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// rewrite replaces the payload of archived event seq (edit, delete).
func (a *archive) rewrite(ctx context.Context, k RoomKey, seq uint64, data []byte) error {
	_, err := a.coll.Tenant(k.Tenant).UpdateOne(ctx,
		bson.D{{Key: "room", Value: k.Room}, {Key: "seq", Value: int64(seq)}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "data", Value: string(data)}}}}, false)
	if err != nil {
		return fmt.Errorf("%w: archive rewrite: %w", ErrUnavailable, err)
	}
	return nil
}

// toEvents converts documents.
func toEvents(docs []eventDoc) []*Event {
	out := make([]*Event, len(docs))
	for i := range docs {
		out[i] = docs[i].event()
	}
	return out
}
