package actions

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

// leadership records which elector led when, in the bubble's fake time.
type leadership struct {
	mu      sync.Mutex
	current map[string]int64 // owner -> term while leading
	terms   []int64
	overlap bool
}

func (l *leadership) lead(owner string) func(ctx context.Context, term int64) {
	return func(ctx context.Context, term int64) {
		l.mu.Lock()
		if len(l.current) > 0 {
			l.overlap = true
		}
		l.current[owner] = term
		l.terms = append(l.terms, term)
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		delete(l.current, owner)
		l.mu.Unlock()
	}
}

func (l *leadership) leader() (string, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for o, t := range l.current {
		return o, t
	}
	return "", 0
}

// TestElectorFailover runs three electors on fake time: one leads; when it
// crashes (no release), another takes over after the TTL with a higher term;
// when that one stops gracefully, the third takes over at once. Leaders
// never overlap.
func TestElectorFailover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		leases := NewMemoryLeases()
		rec := &leadership{current: map[string]int64{}}
		ttl := 3 * time.Second
		type running struct {
			e      *Elector
			cancel context.CancelFunc
			done   chan struct{}
		}
		start := func(owner string) *running {
			e := NewElector(ElectorConfig{Owner: owner, TTL: ttl}, leases, quiet)
			ctx, cancel := context.WithCancel(context.Background())
			r := &running{e: e, cancel: cancel, done: make(chan struct{})}
			go func() { defer close(r.done); _ = e.Run(ctx, rec.lead(owner)) }()
			return r
		}
		els := map[string]*running{"a": start("a"), "b": start("b"), "c": start("c")}
		synctest.Wait()
		first, term1 := rec.leader()
		require.NotEmpty(t, first)
		require.True(t, els[first].e.Valid(term1))

		// Steady state: the leader keeps its term across many renewals.
		time.Sleep(10 * ttl)
		synctest.Wait()
		o, term := rec.leader()
		require.Equal(t, first, o)
		require.Equal(t, term1, term)

		// Crash the leader: it stops without releasing; nobody leads until
		// the lease expires, then someone else does.
		els[first].e.crashed.Store(true)
		els[first].cancel()
		<-els[first].done
		crashedAt := time.Now()
		for {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if o, _ := rec.leader(); o != "" {
				break
			}
		}
		second, term2 := rec.leader()
		require.NotEqual(t, first, second)
		require.Greater(t, term2, term1)
		require.GreaterOrEqual(t, time.Since(crashedAt), ttl*4/5-ttl/3, "takeover waits for the lease to lapse")
		require.False(t, els[first].e.Valid(term1), "crashed leader's fence is down")

		// Graceful stop: the lease is released and the third takes over
		// within one campaign interval.
		els[second].cancel()
		<-els[second].done
		stoppedAt := time.Now()
		for {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			if o, _ := rec.leader(); o != "" {
				break
			}
		}
		third, term3 := rec.leader()
		require.NotContains(t, []string{first, second}, third)
		require.Greater(t, term3, term2)
		require.LessOrEqual(t, time.Since(stoppedAt), ttl/3+100*time.Millisecond)

		for _, r := range els {
			r.cancel()
			<-r.done
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.False(t, rec.overlap, "two leaders at once")
		require.Equal(t, []int64{term1, term2, term3}, rec.terms)
	})
}
