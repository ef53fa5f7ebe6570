package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/store"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/actions"
	"github.com/plenaryhq/plenary/scheduler/api"
	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// ErrInvalidConfig means New was given unusable configuration or
// dependencies.
var ErrInvalidConfig = errors.New("invalid scheduler config")

// Config configures the scheduler. The zero value runs with defaults.
type Config struct {
	// PublicURL is the externally visible base URL used in private feed
	// links (empty: derived from each request's Host).
	PublicURL string
	// MaxImportBytes bounds an uploaded schedule (default 32 MiB; larger
	// uploads get 413).
	MaxImportBytes int64
	// Catalog tunes caching and commit claims.
	Catalog catalog.Options
	// Actions tunes the timed actions (offsets, lease TTL, horizon...).
	// Every replica must use the same Actions.Offsets.
	Actions actions.Config
	// DisableActions makes Run a no-op (a process that serves the API but
	// must not plan or fire actions).
	DisableActions bool
}

// Deps are what the scheduler needs from the platform.
type Deps struct {
	// Store is the document store. Required.
	Store *store.Store
	// Queue carries action and recorder jobs. Required unless
	// Config.DisableActions.
	Queue queue.Queue
	// Bus carries reminders, stage events and change notifications.
	// Required unless Config.DisableActions.
	Bus bus.Bus
	// Auth is the bearer-token middleware (auth.Middleware). Required.
	Auth func(http.Handler) http.Handler
	// Clock is the schedule clock for actions and "now & next" (default
	// the real clock).
	Clock actions.Clock
	// Log is the logger (default slog.Default()).
	Log *slog.Logger
}

// Route is one HTTP route of the scheduler (Method, Path, Handler).
type Route = api.Route

// Summary is the answer to a schedule import.
type Summary = api.ImportSummary

// Service is the scheduler component.
type Service struct {
	cat    *catalog.Catalog
	api    *api.Handler
	runner *actions.Runner
	bus    bus.Bus
	log    *slog.Logger
}

// New builds the scheduler: it creates its store indexes, so ctx bounds
// that.
func New(ctx context.Context, cfg Config, deps Deps) (*Service, error) {
	if deps.Store == nil || deps.Auth == nil {
		return nil, fmt.Errorf("%w: Store and Auth are required", ErrInvalidConfig)
	}
	if !cfg.DisableActions && (deps.Queue == nil || deps.Bus == nil) {
		return nil, fmt.Errorf("%w: Queue and Bus are required for timed actions", ErrInvalidConfig)
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Clock == nil {
		deps.Clock = actions.System()
	}
	cat, err := catalog.New(ctx, deps.Store, cfg.Catalog, deps.Log)
	if err != nil {
		return nil, err
	}
	s := &Service{cat: cat, bus: deps.Bus, log: deps.Log.With("component", "scheduler")}
	if !cfg.DisableActions {
		s.runner, err = actions.New(ctx, cfg.Actions, actions.Deps{
			Store: deps.Store, Source: cat, Queue: deps.Queue, Bus: deps.Bus, Clock: deps.Clock, Log: deps.Log,
		})
		if err != nil {
			return nil, err
		}
	}
	s.api, err = api.New(api.Config{
		PublicURL: cfg.PublicURL,
		Limits:    schedule.Limits{MaxBytes: cfg.MaxImportBytes},
		Now:       deps.Clock.Now,
	}, api.Deps{Catalog: cat, Auth: deps.Auth, OnChange: s.changed, Log: deps.Log})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Routes lists the HTTP routes; Register adds them to a mux.
func (s *Service) Routes() []Route { return s.api.Routes() }

// Register adds every route to mux (an http.ServeMux or the platform's
// httpserver.Server, whose Handle takes Go 1.22 patterns).
func (s *Service) Register(mux interface{ Handle(string, http.Handler) }) { s.api.Register(mux) }

// Catalog is the scheduler's persistence (for other in-process users such
// as the demo seeding).
func (s *Service) Catalog() *catalog.Catalog { return s.cat }

// Run campaigns for leadership, plans while leading and fires action jobs,
// until ctx ends. It returns nil on a clean stop.
func (s *Service) Run(ctx context.Context) error {
	if s.runner == nil {
		<-ctx.Done()
		return nil
	}
	err := s.runner.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// changed is the API's OnChange: wake the local planner and tell the
// leader, wherever it runs.
func (s *Service) changed(ctx context.Context, t tenant.ID, slug string) {
	if s.runner == nil {
		return
	}
	s.runner.Notify()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := actions.Announce(ctx, s.bus, t, slug); err != nil {
		s.log.Warn("announce timetable change", "tenant", t, "convention", slug, "err", err)
	}
}
