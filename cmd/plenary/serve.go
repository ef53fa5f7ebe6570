package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/internal/httpserver"
	"github.com/plenaryhq/plenary/internal/logging"
	"github.com/plenaryhq/plenary/internal/store"
)

const serveSynopsis = `Runs the Plenary platform. With no flags at all it runs every role on this
machine with embedded defaults: FerretDB (SQLite) in --data-dir as the store,
an in-process bus and an in-process durable queue. Point --redis-url,
--amqp-url and --mongo-uri at shared services to run several processes.`

// mongoURIFile, inside the data dir, tells other local Plenary processes and
// the CLI where the embedded store of a running server listens.
const mongoURIFile = "mongo.uri"

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveSynopsis, stderr)
	cfg, err := config.Load(fs, args, os.Getenv)
	if err != nil {
		if errors.Is(err, config.ErrInvalid) {
			return fmt.Errorf("%w: %w", errUsage, err)
		}
		return err
	}
	log := logging.New(stderr, cfg.LogLevel, cfg.LogFormat)
	slog.SetDefault(log)
	p, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer p.close()
	return p.run(ctx, stdout)
}

// platform is everything `plenary serve` wires together.
type platform struct {
	cfg   config.Config
	log   *slog.Logger
	store *store.Store
	http  *httpserver.Server
	backbone

	workers []worker
	// drainWorkers keep running until the HTTP drain has finished: what a
	// draining node needs to move its participants away (the SFU RPC
	// server, the registry heartbeat with Draining set, relay links).
	drainWorkers []worker

	closers []func() error
}

// build opens the backbone and composes the roles asked for. All wiring of
// the binary lives here (STYLE.md §1).
func build(ctx context.Context, cfg config.Config, log *slog.Logger) (*platform, error) {
	p := &platform{cfg: cfg, log: log, http: httpserver.New(log)}
	st, err := store.Open(ctx, store.Config{
		URI: cfg.MongoURI, DataDir: cfg.DataDir, Database: cfg.MongoDatabase, Listen: cfg.MongoListen,
	}, log)
	if err != nil {
		return nil, err
	}
	p.store = st
	p.closers = append(p.closers, st.Close)
	p.http.AddCheck("store", st.Ping)
	if st.Embedded() {
		path := filepath.Join(cfg.DataDir, mongoURIFile)
		if err := os.WriteFile(path, []byte(st.URI()+"\n"), 0o600); err != nil {
			p.close()
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		p.closers = append(p.closers, func() error { return os.Remove(path) })
	}
	if err := p.wire(ctx); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// run serves until ctx ends, then drains within cfg.DrainTimeout.
func (p *platform) run(ctx context.Context, stdout io.Writer) error {
	addr, err := p.http.Listen(p.cfg.Listen)
	if err != nil {
		return err
	}
	if p.cfg.PublicURL == "" {
		p.cfg.Listen = addr.String() // a :0 listen resolves to the real port in links
	}
	g, gctx := errgroup.WithContext(ctx)
	lateCtx, lateCancel := context.WithCancel(context.WithoutCancel(gctx))
	defer lateCancel()
	g.Go(func() error {
		defer lateCancel()
		return p.http.Serve(gctx, p.cfg.DrainTimeout)
	})
	for _, w := range p.workers {
		g.Go(func() error { return w(gctx) })
	}
	for _, w := range p.drainWorkers {
		g.Go(func() error {
			if err := w(lateCtx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}
	p.log.Info("plenary serving", "url", p.cfg.BaseURL(), "roles", p.roles(), "store", p.store.URI())
	fmt.Fprintf(stdout, "Plenary is up: %s\n", p.cfg.BaseURL())
	if p.store.Embedded() {
		fmt.Fprintf(stdout, "Embedded store for other local processes: --mongo-uri %s\n", p.store.URI())
	}
	if p.cfg.Demo {
		if err := p.demo(ctx, stdout); err != nil {
			p.log.Error("demo setup failed", "err", err)
		}
	}
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (p *platform) roles() string {
	if len(p.cfg.Roles) == 0 {
		return "all"
	}
	return p.cfg.Roles.String()
}

// close releases everything in reverse order of opening.
func (p *platform) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		if err := p.closers[i](); err != nil {
			p.log.Warn("close", "err", err)
		}
	}
	p.closers = nil
}
