package catalog

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// cache keeps the latest Timetable of each convention. Readers take the
// fast path (one atomic load) while the snapshot is younger than MaxAge;
// revalidation is serialised per convention so that a burst of requests
// reads the store once.
type cache struct {
	mu  sync.Mutex
	max int
	m   map[string]*cacheEntry
}

// cacheEntry is one convention's slot.
type cacheEntry struct {
	// mu is held while the entry is revalidated or loaded.
	mu sync.Mutex
	// snap is the current snapshot, nil until loaded.
	snap atomic.Pointer[snapshot]
	// used is the UnixNano of the last lookup, for eviction.
	used atomic.Int64
}

// snapshot is a timetable and when it was last confirmed current.
type snapshot struct {
	tt      *Timetable
	checked time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, m: map[string]*cacheEntry{}}
}

func cacheKey(t tenant.ID, slug string) string { return string(t) + "\x00" + slug }

// entry returns the slot for key, creating it (and evicting the least
// recently used slot when full).
func (c *cache) entry(key string, now time.Time) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		if len(c.m) >= c.max {
			c.evictLocked()
		}
		e = &cacheEntry{}
		c.m[key] = e
	}
	e.used.Store(now.UnixNano())
	return e
}

func (c *cache) evictLocked() {
	var oldKey string
	oldest := int64(0)
	for k, e := range c.m {
		if u := e.used.Load(); oldKey == "" || u < oldest {
			oldKey, oldest = k, u
		}
	}
	delete(c.m, oldKey)
}

// invalidate drops key's snapshot so that the next read goes to the store.
func (c *cache) invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}
