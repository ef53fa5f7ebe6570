package actions

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of ElectorConfig.
const (
	DefaultLeaseName = "scheduler.planner"
	DefaultLeaseTTL  = 15 * time.Second
)

// ElectorConfig configures an Elector. Zero values mean the defaults.
type ElectorConfig struct {
	// Name is the lease name; electors with the same name compete
	// (default "scheduler.planner").
	Name string
	// Owner identifies this elector in leases (default random).
	Owner string
	// TTL is how long a term lasts without renewal (default 15s, real
	// time). The leader renews every TTL/3 and considers itself leader for
	// at most 4/5 of TTL after the start of its last successful renewal, so
	// that it stops before any other elector may consider the term expired
	// (clock skew between hosts must stay below TTL/5).
	TTL time.Duration
}

func (c ElectorConfig) withDefaults() ElectorConfig {
	if c.Name == "" {
		c.Name = DefaultLeaseName
	}
	if c.Owner == "" {
		c.Owner = randomID()
	}
	if c.TTL <= 0 {
		c.TTL = DefaultLeaseTTL
	}
	return c
}

// Elector campaigns for a lease and runs a function while it holds it.
type Elector struct {
	cfg    ElectorConfig
	leases LeaseStore
	log    *slog.Logger

	mu         sync.Mutex
	term       int64     // the term held, 0 when not leading
	validUntil time.Time // when the held term may no longer be trusted

	// crashed makes the elector stop as if its process died: no release of
	// the lease, no further writes (tests).
	crashed atomic.Bool
}

// NewElector returns an elector over leases.
func NewElector(cfg ElectorConfig, leases LeaseStore, log *slog.Logger) *Elector {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	return &Elector{cfg: cfg, leases: leases, log: log.With("component", "scheduler.elector", "owner", cfg.Owner)}
}

// Owner is the elector's identity in leases.
func (e *Elector) Owner() string { return e.cfg.Owner }

// Valid reports whether the elector holds term and may still act on it: the
// fencing check the planner makes before it publishes.
func (e *Elector) Valid(term int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return term != 0 && e.term == term && time.Now().Before(e.validUntil) && !e.crashed.Load()
}

// Term returns the term held, 0 when not leading.
func (e *Elector) Term() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !time.Now().Before(e.validUntil) {
		return 0
	}
	return e.term
}

// Run campaigns until ctx ends. While the elector leads, lead runs with a
// context that is cancelled when leadership ends; Run waits for lead to
// return before it campaigns again. On return, a held lease is released
// (expired at once) so that another elector takes over without waiting for
// the TTL.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, term int64)) error {
	interval := e.cfg.TTL / 3
	timer := time.NewTimer(0)
	defer timer.Stop()
	var (
		leadCancel context.CancelFunc
		leadDone   chan struct{}
		held       Lease
	)
	stepDown := func(release bool) {
		if leadCancel != nil {
			leadCancel()
			<-leadDone
			leadCancel = nil
		}
		e.mu.Lock()
		e.term, e.validUntil = 0, time.Time{}
		e.mu.Unlock()
		leaderGauge.Set(0)
		if release && held.Term != 0 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), interval)
			held.Expires = time.Now()
			if err := e.leases.Renew(rctx, e.cfg.Name, held); err != nil {
				e.log.Warn("release lease", "term", held.Term, "err", err)
			}
			cancel()
		}
		held = Lease{}
	}
	for {
		select {
		case <-ctx.Done():
			stepDown(!e.crashed.Load())
			return nil
		case <-timer.C:
		}
		if e.crashed.Load() {
			stepDown(false)
			<-ctx.Done()
			return nil
		}
		if held.Term != 0 {
			if !e.renew(ctx, &held, interval) {
				e.log.Info("lost leadership", "term", held.Term)
				stepDown(false)
			}
		} else if l, ok := e.campaign(ctx, interval); ok {
			held = l
			lctx, cancel := context.WithCancel(ctx)
			leadCancel, leadDone = cancel, make(chan struct{})
			leaderGauge.Set(1)
			e.log.Info("leading", "term", l.Term)
			go func(done chan struct{}) {
				defer close(done)
				lead(lctx, l.Term)
			}(leadDone)
		}
		timer.Reset(interval)
	}
}

// campaign claims the next term if the latest one has expired.
func (e *Elector) campaign(ctx context.Context, timeout time.Duration) (Lease, bool) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	latest, ok, err := e.leases.Latest(cctx, e.cfg.Name)
	if err != nil {
		e.log.Warn("read lease", "err", err)
		return Lease{}, false
	}
	start := time.Now()
	if ok && start.Before(latest.Expires) {
		return Lease{}, false
	}
	l := Lease{Term: latest.Term + 1, Owner: e.cfg.Owner, Expires: start.Add(e.cfg.TTL)}
	if err := e.leases.Claim(cctx, e.cfg.Name, l); err != nil {
		if !errors.Is(err, ErrLeaseTaken) {
			e.log.Warn("claim lease", "term", l.Term, "err", err)
		}
		return Lease{}, false
	}
	e.mu.Lock()
	e.term, e.validUntil = l.Term, start.Add(e.cfg.TTL*4/5)
	e.mu.Unlock()
	return l, true
}

// renew extends the held term and checks that no later term exists. It
// returns false when leadership is lost.
func (e *Elector) renew(ctx context.Context, held *Lease, timeout time.Duration) bool {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	next := *held
	next.Expires = start.Add(e.cfg.TTL)
	err := e.leases.Renew(cctx, e.cfg.Name, next)
	if err == nil {
		var latest Lease
		latest, _, err = e.leases.Latest(cctx, e.cfg.Name)
		if err == nil && latest.Term != held.Term {
			return false // a later term exists: someone saw ours expire
		}
	}
	if err != nil {
		if errors.Is(err, ErrNotLeader) {
			return false
		}
		e.log.Warn("renew lease", "term", held.Term, "err", err)
		return time.Now().Before(e.currentValidUntil())
	}
	*held = next
	e.mu.Lock()
	e.validUntil = start.Add(e.cfg.TTL * 4 / 5)
	e.mu.Unlock()
	return true
}

func (e *Elector) currentValidUntil() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.validUntil
}
