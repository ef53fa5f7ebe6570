package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/store/storetest"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

var tenantA = tenant.MustParse("alpha")

// synthetic builds a convention of rooms×perRoom back-to-back sessions of
// length d starting at start; every tenth session opts out of recording.
func synthetic(slug string, start time.Time, rooms, perRoom int, d time.Duration) *schedule.Schedule {
	s := &schedule.Schedule{Convention: schedule.Convention{
		Slug: slug, Title: "Synthetic " + slug, TimeZone: "UTC",
		Days: []schedule.Day{{Index: 1, Date: start.Format("2006-01-02"), Start: start.Add(-time.Hour), End: start.Add(48 * time.Hour)}},
	}}
	n := 0
	for r := range rooms {
		room := fmt.Sprintf("Room %02d", r)
		s.Rooms = append(s.Rooms, schedule.Room{Name: room, GUID: fmt.Sprintf("room-%02d", r)})
		for i := range perRoom {
			s.Sessions = append(s.Sessions, schedule.Session{
				GUID: fmt.Sprintf("%s-%04d", slug, n), Title: fmt.Sprintf("Talk %d", n),
				Start: start.Add(time.Duration(i) * d), Duration: d, Day: 1, Room: room,
				RecordingOptOut: n%10 == 9,
			})
			n++
		}
	}
	return s
}

// observer counts every effect of every action by its key.
type observer struct {
	mu     sync.Mutex
	counts map[string]int // effect id ("user/key" for reminders) -> deliveries
}

func (o *observer) add(id string) {
	o.mu.Lock()
	o.counts[id]++
	o.mu.Unlock()
}

func (o *observer) snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.counts))
	for k, v := range o.counts {
		out[k] = v
	}
	return out
}

// watchBus counts the envelopes on ch; reminders are counted per user.
func (o *observer) watchBus(t *testing.T, ctx context.Context, b bus.Bus, ch bus.Channel, prefix string) {
	t.Helper()
	sub, err := b.Subscribe(ctx, ch)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sub.Close() })
	go func() {
		for msg := range sub.C() {
			var env struct {
				Data struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			if json.Unmarshal(msg, &env) == nil {
				o.add(prefix + env.Data.ID)
			}
		}
	}()
}

// instance is one scheduler process: its own catalog, queue and runner on
// the shared store and bus.
type instance struct {
	runner *Runner
	q      *queue.MemoryQueue
	cancel context.CancelFunc
	done   chan error
}

func startInstance(t *testing.T, st *store.Store, b bus.Bus, clock Clock, cfg Config) *instance {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.New(ctx, st, catalog.Options{}, quiet)
	require.NoError(t, err)
	q, err := queue.NewMemoryQueue(ctx, st, queue.MemoryConfig{PollInterval: 100 * time.Millisecond, LeaseTTL: 2 * time.Second}, quiet)
	require.NoError(t, err)
	r, err := New(ctx, cfg, Deps{Store: st, Source: cat, Queue: q, Bus: b, Clock: clock, Log: quiet})
	require.NoError(t, err)
	rctx, cancel := context.WithCancel(ctx)
	in := &instance{runner: r, q: q, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- r.Run(rctx) }()
	t.Cleanup(func() { in.stop(false) })
	return in
}

// stop ends the instance; crash skips the lease release, as a dead process
// would.
func (in *instance) stop(crash bool) {
	if crash {
		in.runner.elector.crashed.Store(true)
	}
	in.cancel()
	<-in.done
	in.done <- nil // later stops return at once
	_ = in.q.Close()
}

// waitEffects waits until obs saw n distinct effects. It fails when no new
// effect arrives for a minute (a stall, not a slow machine) or after 15
// minutes in all.
func waitEffects(t *testing.T, obs *observer, n int, state func() string) {
	t.Helper()
	start, last, lastN := time.Now(), time.Now(), 0
	for {
		got := len(obs.snapshot())
		if got >= n {
			return
		}
		if got > lastN {
			last, lastN = time.Now(), got
		}
		require.Less(t, time.Since(last), time.Minute, "stalled at %d of %d effects (%s)", got, n, state())
		require.Less(t, time.Since(start), 15*time.Minute, "only %d of %d effects", got, n)
		time.Sleep(50 * time.Millisecond)
	}
}

// TestExactlyOnceTwoSchedulersLeaderKilled runs two scheduler instances on
// one store and bus over 200 sessions on a compressed clock (30 minutes of
// schedule per real second), kills the leader a third of the way through,
// and checks that every planned action had its effect exactly once.
func TestExactlyOnceTwoSchedulersLeaderKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("compressed-clock run takes ~30s")
	}
	ctx := context.Background()
	st := storetest.Open(t)
	b := bus.NewMemoryBus(bus.MemoryConfig{BufferSize: 1 << 16}, quiet)
	t.Cleanup(func() { _ = b.Close() })

	origin := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	sched := synthetic("con", origin.Add(30*time.Minute), 10, 20, 30*time.Minute)
	setup, err := catalog.New(ctx, st, catalog.Options{}, quiet)
	require.NoError(t, err)
	_, err = setup.Import(ctx, tenantA, "con", sched)
	require.NoError(t, err)
	for i, s := range sched.Sessions {
		require.NoError(t, setup.Star(ctx, tenantA, "con", "ada", s.GUID))
		if i%3 == 0 {
			require.NoError(t, setup.Star(ctx, tenantA, "con", "bob@example.org", s.GUID))
		}
	}
	_, err = setup.SetPublished(ctx, tenantA, "con", true)
	require.NoError(t, err)

	// Expected effects.
	offsets := Offsets{}
	want := map[string]bool{}
	for i := range sched.Sessions {
		s := &sched.Sessions[i]
		for _, p := range offsets.Plan(s) {
			key := Key(tenantA, "con", s.GUID, p.Kind, p.At)
			if p.Kind == KindReminder {
				want["ada/"+key] = true
				if i%3 == 0 {
					want["bob@example.org/"+key] = true
				}
				continue
			}
			want[key] = true
		}
	}

	obs := &observer{counts: map[string]int{}}
	for _, u := range []string{"ada", "bob@example.org"} {
		ch, err := UserChannel(tenantA, u)
		require.NoError(t, err)
		obs.watchBus(t, ctx, b, ch, u+"/")
	}
	actionsCh, err := bus.TenantChannel(tenantA, ActionsChannel)
	require.NoError(t, err)
	obs.watchBus(t, ctx, b, actionsCh, "")
	// The recorder stand-in counts recorder jobs by their action key.
	rq, err := queue.NewMemoryQueue(ctx, st, queue.MemoryConfig{PollInterval: 50 * time.Millisecond}, quiet)
	require.NoError(t, err)
	rctx, rcancel := context.WithCancel(ctx)
	rdone := make(chan struct{})
	go func() {
		defer close(rdone)
		_ = rq.Consume(rctx, RecorderQueue, func(_ context.Context, j queue.Job) error {
			var p RecorderJob
			if err := json.Unmarshal(j.Payload, &p); err != nil {
				return queue.Permanent(err)
			}
			// A job off the recorder's contract shows up as an unexpected
			// effect in the final check.
			if (j.Kind != RecorderStart && j.Kind != RecorderStop) ||
				p.V != 1 || p.Room == "" || p.Session == "" || j.IdempotencyKey != p.Key {
				obs.add(fmt.Sprintf("bad recorder job %s %+v (idempotency key %q)", j.Kind, p, j.IdempotencyKey))
				return nil
			}
			obs.add(p.Key)
			return nil
		}, queue.ConsumeOptions{Concurrency: 2})
	}()
	t.Cleanup(func() { rcancel(); <-rdone; _ = rq.Close() })

	// The clock starts once everything is set up: 1 real second = 30 min
	// (10 min under the race detector).
	factor := 1800.0
	if raceEnabled {
		factor = 600
	}
	clock := Scaled(origin, time.Now(), factor)
	// Lease store operations must finish within TTL/3; the race detector
	// slows the embedded store enough to need a longer lease.
	ttl := 2 * time.Second
	if raceEnabled {
		ttl = 6 * time.Second
	}
	cfg := Config{
		Elector:      ElectorConfig{TTL: ttl},
		PlanInterval: 200 * time.Millisecond,
		Horizon:      2 * time.Hour, // a few real seconds: the planner must keep publishing
		// On a loaded machine the planner may fall behind the compressed
		// clock; a day of catch-up keeps late actions planned (the test
		// checks exactly-once, not punctuality).
		CatchUp:     24 * time.Hour,
		ClaimTTL:    5 * time.Second,
		Concurrency: 4,
	}
	in1 := startInstance(t, st, b, clock, cfg)
	in2 := startInstance(t, st, b, clock, cfg)

	leader := func() *instance {
		for _, in := range []*instance{in1, in2} {
			if in.runner.elector.Term() != 0 {
				return in
			}
		}
		return nil
	}
	state := func() string {
		return fmt.Sprintf("terms: %d, %d; schedule clock %s", in1.runner.elector.Term(), in2.runner.elector.Term(), clock.Now().Format("15:04"))
	}
	waitEffects(t, obs, len(want)/3, state)
	victim := leader()
	require.NotNil(t, victim, "someone leads")
	firstTerm := victim.runner.elector.Term()
	victim.stop(true)
	survivor := in1
	if victim == in1 {
		survivor = in2
	}
	t.Logf("killed the leader (term %d) at schedule time %s with %d/%d effects seen",
		firstTerm, clock.Now().Format("15:04"), len(obs.snapshot()), len(want))

	waitEffects(t, obs, len(want), state)
	require.Greater(t, survivor.runner.elector.Term(), firstTerm, "the survivor took over")
	// Give stragglers (doubles) a moment to show up before judging.
	time.Sleep(time.Second)
	got := obs.snapshot()
	for id := range want {
		require.Equal(t, 1, got[id], "effect %s", id)
	}
	for id, n := range got {
		require.True(t, want[id], "unexpected effect %s (%d)", id, n)
	}
	fired, err := Fired(ctx, st, tenantA, "con")
	require.NoError(t, err)
	terms := map[int64]int{}
	for _, f := range fired {
		terms[f.Term]++
	}
	t.Logf("%d actions fired; by planning term: %v; schedule clock at end %s", len(fired), terms, clock.Now().Format("15:04"))
	require.Len(t, fired, 200*5-20*2)
}
