package chat

import (
	"sync"
	"time"
)

// sweepEvery bounds how often the limiters scan for idle entries, which
// keeps their maps proportional to recently active users.
const sweepEvery = time.Minute

// limiter is a per-key token bucket: rate tokens per second, at most burst.
// It is per process: a user's connections on other gateway processes have
// their own buckets, which is acceptable for a flood guard.
type limiter struct {
	rate  float64
	burst float64

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

// bucket is one key's tokens as of last.
type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns a limiter; rate 0 disables it.
func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: make(map[string]*bucket)}
}

// allow takes a token for key at now, reporting whether one was available.
func (l *limiter) allow(key string, now time.Time) bool {
	if l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep drops buckets that have refilled completely; mu must be held.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < sweepEvery {
		return
	}
	l.lastSweep = now
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.last) > full {
			delete(l.buckets, k)
		}
	}
}

// slowMode remembers when each user last posted in each room, to enforce a
// room's slow mode. Per process, like limiter.
type slowMode struct {
	mu        sync.Mutex
	last      map[slowKey]time.Time
	lastSweep time.Time
}

// slowKey is one user in one room.
type slowKey struct {
	k    RoomKey
	user string
}

func newSlowMode() *slowMode { return &slowMode{last: make(map[slowKey]time.Time)} }

// reserve records a post by user in k at now unless the previous one is
// less than interval ago, in which case it returns how long to wait. A
// reservation whose post then fails is given back with release.
func (m *slowMode) reserve(k RoomKey, user string, interval time.Duration, now time.Time) (wait time.Duration, prev time.Time, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastSweep) >= sweepEvery {
		m.lastSweep = now
		for key, t := range m.last {
			if now.Sub(t) > maxSlowModeSecs*time.Second {
				delete(m.last, key)
			}
		}
	}
	key := slowKey{k, user}
	prev = m.last[key]
	if !prev.IsZero() && now.Sub(prev) < interval {
		return interval - now.Sub(prev), prev, false
	}
	m.last[key] = now
	return 0, prev, true
}

// release restores the previous post time after a failed post.
func (m *slowMode) release(k RoomKey, user string, prev, reserved time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := slowKey{k, user}
	if m.last[key].Equal(reserved) {
		if prev.IsZero() {
			delete(m.last, key)
		} else {
			m.last[key] = prev
		}
	}
}
