package actions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/catalog"
)

// Defaults of Config.
const (
	DefaultPlanInterval = 30 * time.Second
	DefaultHorizon      = 48 * time.Hour
	DefaultCatchUp      = 30 * time.Minute
	DefaultClaimTTL     = 2 * time.Minute
	DefaultConcurrency  = 4
)

// Config tunes a Runner. Zero values mean the defaults given on each field.
type Config struct {
	// Offsets place the actions around sessions; identical on all replicas.
	Offsets Offsets
	// Elector configures leader election (lease TTL 15s by default).
	Elector ElectorConfig
	// PlanInterval is how often the leader re-plans without being told of a
	// change (default 30s, real time).
	PlanInterval time.Duration
	// Horizon is how far ahead the leader publishes jobs (default 48h,
	// schedule clock).
	Horizon time.Duration
	// CatchUp is how late an action may still be planned, e.g. after every
	// replica was down at its instant (default 30m, schedule clock). Jobs
	// already published fire however late they are delivered.
	CatchUp time.Duration
	// ClaimTTL is how long a worker's claim on an action may stay without
	// a done marker before another worker decides it died and fires the
	// action itself (default 2m, real time).
	ClaimTTL time.Duration
	// Concurrency is how many action jobs this process runs at once
	// (default 4).
	Concurrency int
	// Queue and RecorderQueue are the queue names (defaults ActionsQueue
	// and RecorderQueue).
	Queue, RecorderQueue string
	// Policy is the retry policy of action jobs (queue defaults).
	Policy queue.Policy
}

func (c Config) withDefaults() Config {
	if c.PlanInterval <= 0 {
		c.PlanInterval = DefaultPlanInterval
	}
	if c.Horizon <= 0 {
		c.Horizon = DefaultHorizon
	}
	if c.CatchUp <= 0 {
		c.CatchUp = DefaultCatchUp
	}
	if c.ClaimTTL <= 0 {
		c.ClaimTTL = DefaultClaimTTL
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Queue == "" {
		c.Queue = ActionsQueue
	}
	if c.RecorderQueue == "" {
		c.RecorderQueue = RecorderQueue
	}
	c.Offsets = c.Offsets.withDefaults()
	c.Elector = c.Elector.withDefaults()
	return c
}

// Source is what the runner reads timetables from; *catalog.Catalog
// implements it.
type Source interface {
	// Published lists every tenant's published conventions.
	Published(ctx context.Context) ([]catalog.PublishedRef, error)
	// Fresh returns a convention's current timetable.
	Fresh(ctx context.Context, t tenant.ID, slug string) (*catalog.Timetable, error)
	// Starred lists the attendees who starred a session.
	Starred(ctx context.Context, t tenant.ID, slug, guid string) ([]string, error)
}

var _ Source = (*catalog.Catalog)(nil)

// Deps are the runner's collaborators.
type Deps struct {
	// Store keeps leases (unless Leases is set) and fired-action records.
	Store *store.Store
	// Source reads timetables.
	Source Source
	// Queue carries action and recorder jobs.
	Queue queue.Queue
	// Bus carries reminders, stage events and change notifications.
	Bus bus.Bus
	// Leases overrides the store-backed lease store (tests).
	Leases LeaseStore
	// Clock is the schedule clock (default System()).
	Clock Clock
	// Log is the logger (default slog.Default()).
	Log *slog.Logger
}

// Runner is one process's share of the timed actions: it campaigns for
// leadership and plans while it leads, and it fires the action jobs the
// queue hands it.
type Runner struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	elector *Elector
	fired   *firedStore
	notify  chan struct{}
}

// New builds a Runner and creates its store indexes.
func New(ctx context.Context, cfg Config, deps Deps) (*Runner, error) {
	if deps.Store == nil || deps.Source == nil || deps.Queue == nil || deps.Bus == nil {
		return nil, fmt.Errorf("%w: Store, Source, Queue and Bus are required", ErrInvalidConfig)
	}
	cfg = cfg.withDefaults()
	if err := queue.ValidQueueName(cfg.Queue); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := queue.ValidQueueName(cfg.RecorderQueue); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if deps.Clock == nil {
		deps.Clock = System()
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Leases == nil {
		deps.Leases = NewStoreLeases(deps.Store)
	}
	fired, err := newFiredStore(ctx, deps.Store, cfg.ClaimTTL)
	if err != nil {
		return nil, err
	}
	log := deps.Log.With("component", "scheduler.actions", "owner", cfg.Elector.Owner)
	return &Runner{
		cfg: cfg, deps: deps, log: log, fired: fired,
		elector: NewElector(cfg.Elector, deps.Leases, deps.Log),
		notify:  make(chan struct{}, 1),
	}, nil
}

// Elector returns the runner's elector (for readiness and tests).
func (r *Runner) Elector() *Elector { return r.elector }

// Notify tells the planner that a timetable changed, so that the leader
// re-plans now rather than at its next PlanInterval. It never blocks.
func (r *Runner) Notify() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Announce publishes a change notification on the bus for the leader,
// wherever it runs.
func Announce(ctx context.Context, b bus.Bus, t tenant.ID, slug string) error {
	ch, err := bus.SystemChannel(ChangedChannel)
	if err != nil {
		return err
	}
	msg, err := json.Marshal(ChangedEvent{Tenant: t, Convention: slug})
	if err != nil {
		return err
	}
	return b.Publish(ctx, ch, msg)
}

// Run campaigns, plans while leading, and consumes action jobs until ctx
// ends.
func (r *Runner) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return r.listen(ctx) })
	g.Go(func() error {
		return r.elector.Run(ctx, func(lctx context.Context, term int64) {
			p := &planner{
				cfg: r.cfg, src: r.deps.Source, q: r.deps.Queue, clock: r.deps.Clock,
				valid: r.elector.Valid, log: r.log, notify: r.notify,
			}
			p.run(lctx, term)
		})
	})
	g.Go(func() error {
		w := &worker{
			cfg: r.cfg, src: r.deps.Source, q: r.deps.Queue, bus: r.deps.Bus, fired: r.fired,
			clock: r.deps.Clock, owner: r.elector.Owner(), log: r.log,
		}
		return r.deps.Queue.Consume(ctx, r.cfg.Queue, w.handle, queue.ConsumeOptions{
			Concurrency: r.cfg.Concurrency, Policy: r.cfg.Policy,
		})
	})
	return g.Wait()
}

// listen turns change notifications on the bus into Notify calls.
func (r *Runner) listen(ctx context.Context) error {
	ch, err := bus.SystemChannel(ChangedChannel)
	if err != nil {
		return err
	}
	sub, err := r.deps.Bus.Subscribe(ctx, ch)
	if err != nil {
		// Without notifications the leader still re-plans every
		// PlanInterval; do not take the runner down.
		r.log.Warn("subscribe to timetable changes", "err", err)
		<-ctx.Done()
		return nil
	}
	defer func() { _ = sub.Close() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-sub.C():
			if !ok {
				<-ctx.Done()
				return nil
			}
			r.Notify()
		}
	}
}

func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
