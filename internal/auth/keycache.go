package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Key cache tuning. The TTL is configurable (WithCacheTTL); the rest are
// safety bounds.
const (
	// defaultCacheTTL is how long a tenant's keys are trusted once read.
	defaultCacheTTL = 30 * time.Second
	// missTTL is the shortest interval between two store reads of one
	// tenant caused by misses: unknown tenants are remembered this long,
	// and an unknown kid re-reads a tenant at most this often.
	missTTL = time.Second
	// maxCacheEntries bounds memory when tokens name many unknown tenants.
	maxCacheEntries = 100_000
	// loadTimeout bounds one store read shared by concurrent callers.
	loadTimeout = 5 * time.Second
)

// keyCache keeps tenants' keys in memory. A miss (tenant not cached, entry
// stale, kid not in the entry) reads the tenant from the store once, however
// many requests miss at the same time.
type keyCache struct {
	ttl  time.Duration
	load func(context.Context, tenant.ID) (Tenant, error)
	now  func() time.Time

	mu      sync.RWMutex
	entries map[tenant.ID]*cacheEntry
	// gen counts invalidations; a read that started before one is not
	// stored, so it cannot put back keys a rotation just replaced.
	gen   uint64
	group singleflight.Group
}

// cacheEntry is one tenant's keys as last read; found is false for a tenant
// the store did not have. Entries are immutable once stored.
type cacheEntry struct {
	loaded time.Time
	found  bool
	keys   []Key
}

func newKeyCache(load func(context.Context, tenant.ID) (Tenant, error), now func() time.Time) *keyCache {
	return &keyCache{
		ttl:     defaultCacheTTL,
		load:    load,
		now:     now,
		entries: make(map[tenant.ID]*cacheEntry),
	}
}

// lookup resolves kid in the entry. done is false when the entry cannot
// answer (kid absent), so a fresher read might.
func (e *cacheEntry) lookup(id tenant.ID, kid string, now time.Time) (Key, bool, error) {
	if !e.found {
		return Key{}, true, fmt.Errorf("%w: %q", ErrUnknownTenant, id)
	}
	if kid == "" {
		k, ok := Tenant{Keys: e.keys}.SigningKey(now)
		if !ok {
			return Key{}, false, fmt.Errorf("%w: tenant %q has no usable key", ErrUnknownKey, id)
		}
		return k, true, nil
	}
	for _, k := range e.keys {
		if k.ID == kid {
			if !k.UsableAt(now) {
				return Key{}, true, fmt.Errorf("%w: %q of tenant %q is retired", ErrUnknownKey, kid, id)
			}
			return k, true, nil
		}
	}
	return Key{}, false, fmt.Errorf("%w: %q of tenant %q", ErrUnknownKey, kid, id)
}

// get returns tenant id's key kid, or its signing key when kid is "".
func (c *keyCache) get(ctx context.Context, id tenant.ID, kid string) (Key, error) {
	now := c.now()
	c.mu.RLock()
	e := c.entries[id]
	c.mu.RUnlock()
	if e != nil {
		age := now.Sub(e.loaded)
		fresh := age < c.ttl && (e.found || age < missTTL)
		if fresh {
			k, done, err := e.lookup(id, kid, now)
			if done || age < missTTL {
				return k, err
			}
		}
	}
	ne, err := c.reload(ctx, id)
	if err != nil {
		// Stale-if-error: keep verifying with keys read before the store
		// became unreachable, rather than logging everybody out.
		if e != nil && e.found {
			if k, done, kerr := e.lookup(id, kid, now); done && kerr == nil {
				return k, nil
			}
		}
		return Key{}, err
	}
	k, _, err := ne.lookup(id, kid, now)
	return k, err
}

// reload reads tenant id once for all concurrent callers and stores the entry.
func (c *keyCache) reload(ctx context.Context, id tenant.ID) (*cacheEntry, error) {
	c.mu.RLock()
	gen := c.gen
	c.mu.RUnlock()
	ch := c.group.DoChan(string(id), func() (any, error) {
		// The read outlives a caller that gives up, since others may wait
		// on it; it is bounded by loadTimeout instead.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		t, err := c.load(lctx, id)
		e := &cacheEntry{loaded: c.now()}
		switch {
		case err == nil:
			e.found, e.keys = true, t.Keys
		case errors.Is(err, ErrUnknownTenant):
		default:
			return nil, err
		}
		c.store(id, e, gen)
		return e, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		e, _ := r.Val.(*cacheEntry)
		if e == nil {
			return nil, fmt.Errorf("%w: key cache", ErrUnavailable)
		}
		return e, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
}

// store saves e unless the cache was invalidated since gen, making room
// first if the cache is full: negative entries go first, then everything
// (entries are cheap to read again).
func (c *keyCache) store(id tenant.ID, e *cacheEntry, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.entries[id]; !ok && len(c.entries) >= maxCacheEntries {
		for k, v := range c.entries {
			if !v.found {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxCacheEntries {
			clear(c.entries)
		}
	}
	c.entries[id] = e
}

// invalidate forgets tenant id so the next get reads the store.
func (c *keyCache) invalidate(id tenant.ID) {
	c.mu.Lock()
	delete(c.entries, id)
	c.gen++
	c.mu.Unlock()
	// Callers arriving from now on start a new read instead of joining
	// one that may predate the change.
	c.group.Forget(string(id))
}
