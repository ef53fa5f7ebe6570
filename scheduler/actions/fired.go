package actions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// FiredCollection is the tenant-scoped collection of action claims and done
// markers.
const FiredCollection = "sched.fired"

// doneGen is the generation of the done marker: claims count from 1.
const doneGen = 0

// firedDoc is a claim (Gen ≥ 1) or the done marker (Gen 0) of an action.
// Unique on (key, gen): exactly one worker inserts each.
type firedDoc struct {
	Key        string    `bson:"key"`
	Gen        int       `bson:"gen"`
	Convention string    `bson:"conv"`
	Session    string    `bson:"guid"`
	Action     string    `bson:"action"`
	Planned    time.Time `bson:"planned"`
	Term       int64     `bson:"term"`
	Owner      string    `bson:"owner"`
	At         time.Time `bson:"at"`
}

// claimOutcome is what an attempt to claim an action found.
type claimOutcome int

const (
	claimWon      claimOutcome = iota + 1 // this worker fires the action
	claimDone                             // the action already fired
	claimBusy                             // another worker is firing it
	claimTakeover                         // a dead worker's claim was taken over; fire
)

// firedStore keeps the claims in the store.
type firedStore struct {
	c   *store.Collection
	ttl time.Duration
}

func newFiredStore(ctx context.Context, st *store.Store, ttl time.Duration) (*firedStore, error) {
	c := st.Collection(FiredCollection)
	err := c.EnsureIndexes(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: "key", Value: 1}, {Key: "gen", Value: 1}},
		Options: options.Index().SetUnique(true),
	})
	if err != nil {
		return nil, fmt.Errorf("fired index: %w", err)
	}
	return &firedStore{c: c, ttl: ttl}, nil
}

// claim tries to become the worker that fires d.Key.
func (f *firedStore) claim(ctx context.Context, t tenant.ID, d firedDoc) (claimOutcome, firedDoc, error) {
	coll := f.c.Tenant(t)
	d.Gen = 1
	d.At = time.Now().UTC()
	err := coll.InsertOne(ctx, d)
	if err == nil {
		return claimWon, d, nil
	}
	if !store.IsDuplicate(err) {
		return 0, d, fmt.Errorf("claim action: %w", err)
	}
	var docs []firedDoc
	if err := coll.Find(ctx, bson.D{{Key: "key", Value: d.Key}}, &docs); err != nil {
		return 0, d, fmt.Errorf("read action claims: %w", err)
	}
	latest := firedDoc{}
	for _, x := range docs {
		if x.Gen == doneGen {
			return claimDone, d, nil
		}
		if x.Gen > latest.Gen {
			latest = x
		}
	}
	if latest.Gen == 0 || time.Since(latest.At) < f.ttl {
		return claimBusy, d, nil
	}
	d.Gen = latest.Gen + 1
	d.At = time.Now().UTC()
	if err := coll.InsertOne(ctx, d); err != nil {
		if store.IsDuplicate(err) {
			return claimBusy, d, nil
		}
		return 0, d, fmt.Errorf("take over action claim: %w", err)
	}
	return claimTakeover, d, nil
}

// done records that the action fired.
func (f *firedStore) done(ctx context.Context, t tenant.ID, d firedDoc) error {
	d.Gen = doneGen
	d.At = time.Now().UTC()
	err := f.c.Tenant(t).InsertOne(ctx, d)
	if err != nil && !store.IsDuplicate(err) {
		return fmt.Errorf("mark action done: %w", err)
	}
	return nil
}

// release deletes a claim whose effect failed, so that the retry can claim
// again at once.
func (f *firedStore) release(ctx context.Context, t tenant.ID, d firedDoc) error {
	_, err := f.c.Tenant(t).DeleteOne(ctx, bson.D{{Key: "key", Value: d.Key}, {Key: "gen", Value: d.Gen}})
	if err != nil {
		return fmt.Errorf("release action claim: %w", err)
	}
	return nil
}

// FiredRecord is one fired action as recorded (Fired lists them).
type FiredRecord struct {
	Key, Convention, Session string
	Action                   Kind
	Planned, At              time.Time
	Term                     int64
	Owner                    string
}

// Fired lists the actions that fired in tenant t's convention slug, for
// operators and tests.
func Fired(ctx context.Context, st *store.Store, t tenant.ID, slug string) ([]FiredRecord, error) {
	var docs []firedDoc
	err := st.Collection(FiredCollection).Tenant(t).Find(ctx, bson.D{{Key: "conv", Value: slug}, {Key: "gen", Value: doneGen}}, &docs)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := make([]FiredRecord, 0, len(docs))
	for _, d := range docs {
		k, _ := ParseKind(d.Action)
		out = append(out, FiredRecord{
			Key: d.Key, Convention: d.Convention, Session: d.Session, Action: k,
			Planned: d.Planned, At: d.At, Term: d.Term, Owner: d.Owner,
		})
	}
	return out, nil
}
