package actions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
)

// Lease is one term of leadership.
type Lease struct {
	// Term numbers the leases of one name from 1; it is the fencing token.
	Term int64 `bson:"term"`
	// Owner identifies the elector holding the term.
	Owner string `bson:"owner"`
	// Expires is when the term lapses unless its owner renews it.
	Expires time.Time `bson:"expires"`
}

// LeaseStore keeps leases. Claim must be atomic (exactly one caller can
// claim a given term); Renew is only ever called by a term's owner, so it
// needs no atomicity.
type LeaseStore interface {
	// Latest returns the lease with the highest term, ok false if none.
	Latest(ctx context.Context, name string) (l Lease, ok bool, err error)
	// Claim stores l as a new term; ErrLeaseTaken if the term exists.
	Claim(ctx context.Context, name string, l Lease) error
	// Renew sets the expiry of the owner's term.
	Renew(ctx context.Context, name string, l Lease) error
}

var (
	_ LeaseStore = (*StoreLeases)(nil)
	_ LeaseStore = (*MemoryLeases)(nil)
)

// LeasesCollection is the system collection of leases.
const LeasesCollection = "scheduler.leases"

// StoreLeases keeps leases in the document store: one document per term
// with _id "name/term" (zero-padded), so claiming a term is a unique insert.
// It is a system collection because the planner leads for every tenant.
type StoreLeases struct {
	c *mongo.Collection
}

// NewStoreLeases returns the leases kept in st.
func NewStoreLeases(st *store.Store) *StoreLeases {
	return &StoreLeases{c: st.System(LeasesCollection)}
}

type leaseDoc struct {
	ID    string `bson:"_id"`
	Name  string `bson:"name"`
	Lease `bson:",inline"`
}

func leaseID(name string, term int64) string { return fmt.Sprintf("%s/%020d", name, term) }

// Latest implements LeaseStore.
func (s *StoreLeases) Latest(ctx context.Context, name string) (Lease, bool, error) {
	var d leaseDoc
	err := s.c.FindOne(ctx, bson.D{{Key: "name", Value: name}},
		options.FindOne().SetSort(bson.D{{Key: "term", Value: -1}})).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("read lease: %w", err)
	}
	return d.Lease, true, nil
}

// Claim implements LeaseStore.
func (s *StoreLeases) Claim(ctx context.Context, name string, l Lease) error {
	_, err := s.c.InsertOne(ctx, leaseDoc{ID: leaseID(name, l.Term), Name: name, Lease: l})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("%w: %s term %d", ErrLeaseTaken, name, l.Term)
	}
	if err != nil {
		return fmt.Errorf("claim lease: %w", err)
	}
	// Keep the collection small: terms well behind this one are history.
	if l.Term > 10 {
		_, _ = s.c.DeleteMany(ctx, bson.D{{Key: "name", Value: name}, {Key: "term", Value: bson.D{{Key: "$lt", Value: l.Term - 10}}}})
	}
	return nil
}

// Renew implements LeaseStore.
func (s *StoreLeases) Renew(ctx context.Context, name string, l Lease) error {
	r, err := s.c.UpdateOne(ctx, bson.D{{Key: "_id", Value: leaseID(name, l.Term)}, {Key: "owner", Value: l.Owner}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "expires", Value: l.Expires}}}})
	if err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	if r.MatchedCount == 0 {
		return fmt.Errorf("%w: %s term %d is gone", ErrNotLeader, name, l.Term)
	}
	return nil
}

// MemoryLeases is an in-process LeaseStore for tests of electors sharing
// one process.
type MemoryLeases struct {
	mu     sync.Mutex
	leases map[string]map[int64]Lease
}

// NewMemoryLeases returns an empty MemoryLeases.
func NewMemoryLeases() *MemoryLeases { return &MemoryLeases{leases: map[string]map[int64]Lease{}} }

// Latest implements LeaseStore.
func (m *MemoryLeases) Latest(_ context.Context, name string) (Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best Lease
	for _, l := range m.leases[name] {
		if l.Term > best.Term {
			best = l
		}
	}
	return best, best.Term > 0, nil
}

// Claim implements LeaseStore.
func (m *MemoryLeases) Claim(_ context.Context, name string, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.leases[name] == nil {
		m.leases[name] = map[int64]Lease{}
	}
	if _, ok := m.leases[name][l.Term]; ok {
		return fmt.Errorf("%w: %s term %d", ErrLeaseTaken, name, l.Term)
	}
	m.leases[name][l.Term] = l
	return nil
}

// Renew implements LeaseStore.
func (m *MemoryLeases) Renew(_ context.Context, name string, l Lease) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.leases[name][l.Term]
	if !ok || cur.Owner != l.Owner {
		return fmt.Errorf("%w: %s term %d is gone", ErrNotLeader, name, l.Term)
	}
	m.leases[name][l.Term] = l
	return nil
}
