package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// TenantsCollection is the system collection holding the tenant registry.
// It is a system collection (store.System) because each document *is* a
// tenant rather than data owned by one.
const TenantsCollection = "tenants"

// SecretSize is the length in bytes of a new signing secret: 256 bits, the
// HMAC-SHA256 block-output size recommended by RFC 7518 §3.2.
const SecretSize = 32

// maxUpdateAttempts bounds the optimistic-concurrency retries of key updates.
const maxUpdateAttempts = 5

// Key is one HMAC signing key of a tenant. Tokens name it in their kid
// header. A key verifies tokens until it is retired; the newest usable key
// signs new tokens.
type Key struct {
	// ID is the key id (kid), unique within the tenant.
	ID string `bson:"kid" json:"kid"`
	// Secret is the HMAC key. It never leaves the process in JSON.
	Secret []byte `bson:"secret" json:"-"`
	// Created is when the key was generated.
	Created time.Time `bson:"created" json:"created"`
	// Retired, when set, is the instant from which the key no longer
	// verifies tokens.
	Retired *time.Time `bson:"retired,omitempty" json:"retired,omitempty"`
}

// UsableAt reports whether the key verifies tokens at instant t.
func (k Key) UsableAt(t time.Time) bool {
	return len(k.Secret) > 0 && (k.Retired == nil || t.Before(*k.Retired))
}

// Tenant is a registry document: one organizer and its signing keys.
type Tenant struct {
	// ID is the tenant id and the document _id.
	ID tenant.ID `bson:"_id" json:"id"`
	// Name is the organizer's display name.
	Name string `bson:"name" json:"name"`
	// Created is when the tenant was registered.
	Created time.Time `bson:"created" json:"created"`
	// Keys are the tenant's signing keys, oldest first.
	Keys []Key `bson:"keys" json:"keys"`
	// Rev counts key updates; writes are conditional on it so that two
	// processes rotating at once do not lose a key.
	Rev int64 `bson:"rev" json:"-"`
}

// SigningKey returns the newest key usable at now, which new tokens are
// signed with.
func (t Tenant) SigningKey(now time.Time) (Key, bool) {
	var best Key
	found := false
	for _, k := range t.Keys {
		if k.UsableAt(now) && (!found || !k.Created.Before(best.Created)) {
			best, found = k, true
		}
	}
	return best, found
}

// Key returns the key with id kid, usable or not.
func (t Tenant) Key(kid string) (Key, bool) {
	for _, k := range t.Keys {
		if k.ID == kid {
			return k, true
		}
	}
	return Key{}, false
}

// KeySource hands out tenant keys to the Issuer and the Verifier. Tenants
// implements it with a store-backed registry and an in-memory cache.
type KeySource interface {
	// SigningKey returns the key new tokens of tenant t are signed with.
	SigningKey(ctx context.Context, t tenant.ID) (Key, error)
	// VerificationKey returns tenant t's usable key kid: ErrUnknownTenant if
	// t does not exist, ErrUnknownKey if the key does not or is retired.
	VerificationKey(ctx context.Context, t tenant.ID, kid string) (Key, error)
}

var _ KeySource = (*Tenants)(nil)

// Tenants is the tenant registry. Keys read for signing and verification are
// cached in memory (see WithCacheTTL), so a token check does not reach the
// store on every request.
type Tenants struct {
	c     *mongo.Collection
	log   *slog.Logger
	now   func() time.Time
	cache *keyCache
}

// TenantsOption configures NewTenants.
type TenantsOption func(*Tenants)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) TenantsOption {
	return func(ts *Tenants) {
		if l != nil {
			ts.log = l
		}
	}
}

// WithCacheTTL sets how long keys read from the store are trusted before
// being read again (default 30s; a non-positive value keeps the default). A
// key retired by another process keeps verifying here for at most this long;
// a key rotated in elsewhere is found at once, on the first miss of its kid.
func WithCacheTTL(d time.Duration) TenantsOption {
	return func(ts *Tenants) {
		if d > 0 {
			ts.cache.ttl = d
		}
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) TenantsOption {
	return func(ts *Tenants) {
		if now != nil {
			ts.now = now
		}
	}
}

// NewTenants returns the registry kept in st's system collection "tenants".
func NewTenants(st *store.Store, opts ...TenantsOption) *Tenants {
	ts := &Tenants{
		c:   st.System(TenantsCollection),
		log: slog.Default(),
		now: time.Now,
	}
	ts.cache = newKeyCache(ts.load, func() time.Time { return ts.now() })
	for _, o := range opts {
		o(ts)
	}
	ts.log = ts.log.With("component", "auth")
	return ts
}

// CreateTenant registers tenant id with one fresh signing key. It returns an
// error wrapping ErrTenantExists if id is taken. An empty name defaults to id.
func (ts *Tenants) CreateTenant(ctx context.Context, id tenant.ID, name string) (Tenant, error) {
	if _, err := tenant.Parse(string(id)); err != nil {
		return Tenant{}, err
	}
	if name == "" {
		name = string(id)
	}
	key, err := newKey(nil, ts.now())
	if err != nil {
		return Tenant{}, err
	}
	t := Tenant{ID: id, Name: name, Created: key.Created, Keys: []Key{key}}
	if _, err := ts.c.InsertOne(ctx, t); err != nil {
		if store.IsDuplicate(err) {
			return Tenant{}, fmt.Errorf("%w: %q", ErrTenantExists, id)
		}
		return Tenant{}, fmt.Errorf("%w: create tenant %q: %w", ErrUnavailable, id, err)
	}
	ts.cache.invalidate(id)
	ts.log.Info("tenant created", "tenant", id, "kid", key.ID)
	return t, nil
}

// EnsureTenant returns tenant id, creating it first if it does not exist.
// It is idempotent and safe to race (plenary serve --demo calls it at every
// start); an existing tenant keeps its name and keys.
func (ts *Tenants) EnsureTenant(ctx context.Context, id tenant.ID, name string) (Tenant, error) {
	t, err := ts.GetTenant(ctx, id)
	if !errors.Is(err, ErrUnknownTenant) {
		return t, err
	}
	t, err = ts.CreateTenant(ctx, id, name)
	if errors.Is(err, ErrTenantExists) {
		return ts.GetTenant(ctx, id)
	}
	return t, err
}

// GetTenant reads tenant id from the store (not the cache). It returns an
// error wrapping ErrUnknownTenant if there is none.
func (ts *Tenants) GetTenant(ctx context.Context, id tenant.ID) (Tenant, error) {
	return ts.load(ctx, id)
}

// load is GetTenant; the key cache calls it on a miss.
func (ts *Tenants) load(ctx context.Context, id tenant.ID) (Tenant, error) {
	var t Tenant
	err := ts.c.FindOne(ctx, bson.D{{Key: "_id", Value: string(id)}}).Decode(&t)
	switch {
	case err == nil:
		return t, nil
	case store.IsNotFound(err):
		return Tenant{}, fmt.Errorf("%w: %q", ErrUnknownTenant, id)
	default:
		return Tenant{}, fmt.Errorf("%w: read tenant %q: %w", ErrUnavailable, id, err)
	}
}

// ListTenants returns every tenant, ordered by id.
func (ts *Tenants) ListTenants(ctx context.Context) ([]Tenant, error) {
	cur, err := ts.c.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("%w: list tenants: %w", ErrUnavailable, err)
	}
	out := []Tenant{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, fmt.Errorf("%w: list tenants: %w", ErrUnavailable, err)
	}
	return out, nil
}

// RotateKey adds a fresh signing key to tenant id and returns it. New tokens
// are signed with it from now on (in other processes once their cache entry
// expires); tokens signed with older keys keep verifying until those keys
// are retired with RetireKey.
func (ts *Tenants) RotateKey(ctx context.Context, id tenant.ID) (Key, error) {
	var added Key
	_, err := ts.modify(ctx, id, func(t *Tenant) error {
		k, err := newKey(t.Keys, ts.now())
		if err != nil {
			return err
		}
		// A key created in the same millisecond as the previous one must
		// still sort after it (BSON dates have millisecond precision).
		if n := len(t.Keys); n > 0 && !k.Created.After(t.Keys[n-1].Created) {
			k.Created = t.Keys[n-1].Created.Add(time.Millisecond)
		}
		t.Keys = append(t.Keys, k)
		added = k
		return nil
	})
	if err != nil {
		return Key{}, err
	}
	ts.log.Info("signing key rotated", "tenant", id, "kid", added.ID)
	return added, nil
}

// RetireKey stops key kid of tenant id from verifying tokens, from now on.
// Retiring the tenant's last usable key is refused with ErrLastKey; rotate
// first. Other processes stop accepting the key within their cache TTL.
func (ts *Tenants) RetireKey(ctx context.Context, id tenant.ID, kid string) error {
	_, err := ts.modify(ctx, id, func(t *Tenant) error {
		now := ts.now()
		usable, idx := 0, -1
		for i, k := range t.Keys {
			if k.UsableAt(now) {
				usable++
			}
			if k.ID == kid {
				idx = i
			}
		}
		if idx < 0 {
			return fmt.Errorf("%w: %q of tenant %q", ErrUnknownKey, kid, id)
		}
		if !t.Keys[idx].UsableAt(now) {
			return nil
		}
		if usable <= 1 {
			return fmt.Errorf("%w: %q of tenant %q", ErrLastKey, kid, id)
		}
		t.Keys[idx].Retired = &now
		return nil
	})
	if err == nil {
		ts.log.Info("signing key retired", "tenant", id, "kid", kid)
	}
	return err
}

// keyUpdateMu serialises key updates within the process. The conditional
// write on rev is atomic on MongoDB, but embedded FerretDB v1 (SQLite)
// evaluates an update's filter and writes the document without isolation,
// so two concurrent writers can both match the same rev and one rotation
// would be lost. Key updates are rare admin actions; a process-wide lock
// costs nothing. Writers in different processes sharing an embedded
// FerretDB remain unprotected there (they are on MongoDB).
var keyUpdateMu sync.Mutex

// modify applies fn to tenant id and writes the keys back, retrying if
// another writer changed the document in between.
func (ts *Tenants) modify(ctx context.Context, id tenant.ID, fn func(*Tenant) error) (Tenant, error) {
	keyUpdateMu.Lock()
	defer keyUpdateMu.Unlock()
	for range maxUpdateAttempts {
		t, err := ts.load(ctx, id)
		if err != nil {
			return Tenant{}, err
		}
		rev := t.Rev
		if err := fn(&t); err != nil {
			return Tenant{}, err
		}
		t.Rev = rev + 1
		res, err := ts.c.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: string(id)}, {Key: "rev", Value: rev}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "keys", Value: t.Keys}, {Key: "rev", Value: t.Rev}}}})
		if err != nil {
			return Tenant{}, fmt.Errorf("%w: update tenant %q: %w", ErrUnavailable, id, err)
		}
		if res.MatchedCount == 1 {
			ts.cache.invalidate(id)
			return t, nil
		}
	}
	return Tenant{}, fmt.Errorf("%w: tenant %q: concurrent key updates, try again", ErrUnavailable, id)
}

// SigningKey returns the newest usable key of tenant t, from the cache.
func (ts *Tenants) SigningKey(ctx context.Context, t tenant.ID) (Key, error) {
	return ts.cache.get(ctx, t, "")
}

// VerificationKey returns tenant t's usable key kid, from the cache; a kid the
// cache does not know makes it re-read the tenant (at most once a second per
// tenant, so forged kids cannot flood the store).
func (ts *Tenants) VerificationKey(ctx context.Context, t tenant.ID, kid string) (Key, error) {
	if kid == "" {
		return Key{}, fmt.Errorf("%w: empty kid", ErrUnknownKey)
	}
	return ts.cache.get(ctx, t, kid)
}

// Invalidate drops tenant t's cached keys so the next lookup reads the store.
func (ts *Tenants) Invalidate(t tenant.ID) { ts.cache.invalidate(t) }

// newKey generates a key whose id differs from every id in existing.
func newKey(existing []Key, now time.Time) (Key, error) {
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		return Key{}, fmt.Errorf("generate signing key: %w", err)
	}
	var idb [8]byte
	for {
		if _, err := rand.Read(idb[:]); err != nil {
			return Key{}, fmt.Errorf("generate key id: %w", err)
		}
		kid := hex.EncodeToString(idb[:])
		if !(Tenant{Keys: existing}).hasKey(kid) {
			return Key{ID: kid, Secret: secret, Created: now.UTC().Truncate(time.Millisecond)}, nil
		}
	}
}

func (t Tenant) hasKey(kid string) bool {
	_, ok := t.Key(kid)
	return ok
}
