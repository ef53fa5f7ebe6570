package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/config"
	"github.com/plenaryhq/plenary/internal/store"
)

// storeFlags are the flags of CLI commands that work on the store directly.
type storeFlags struct {
	dataDir, mongoURI, database string
}

func (f *storeFlags) bind(fs *flag.FlagSet) {
	d := config.Defaults()
	fs.StringVar(&f.dataDir, "data-dir", envOr("data-dir", d.DataDir), "data directory of the Plenary whose store to use (its running server is found through DATA_DIR/mongo.uri)")
	fs.StringVar(&f.mongoURI, "mongo-uri", envOr("mongo-uri", ""), "MongoDB URI of the store (default: the running server's embedded store, else open the embedded store in --data-dir)")
	fs.StringVar(&f.database, "mongo-database", envOr("mongo-database", d.MongoDatabase), "database name in the store")
}

// envOr returns PLENARY_<FLAG> or def, so CLI flags honour the same
// environment as serve.
func envOr(flagName, def string) string {
	if v := os.Getenv(config.EnvName(flagName)); v != "" {
		return v
	}
	return def
}

// open connects to the store a CLI command should use: --mongo-uri; else the
// embedded store of a server running on --data-dir; else that data dir's
// embedded store opened in this process (no server is running then).
func (f *storeFlags) open(ctx context.Context) (*store.Store, error) {
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if f.mongoURI != "" {
		return store.Open(ctx, store.Config{URI: f.mongoURI, Database: f.database}, quiet)
	}
	if b, err := os.ReadFile(filepath.Join(f.dataDir, mongoURIFile)); err == nil {
		uri := strings.TrimSpace(string(b))
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		s, err := store.Open(pctx, store.Config{URI: uri + "?serverSelectionTimeoutMS=2000", Database: f.database}, quiet)
		cancel()
		if err == nil {
			return s, nil
		}
		fmt.Fprintf(os.Stderr, "note: the server recorded in %s does not answer; opening the data dir directly\n", filepath.Join(f.dataDir, mongoURIFile))
	}
	return store.Open(ctx, store.Config{DataDir: f.dataDir, Database: f.database}, quiet)
}
