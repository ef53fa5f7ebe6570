// Package storetest opens a store for tests: embedded FerretDB in a temporary
// directory, or the MongoDB named by PLENARY_TEST_MONGO_URI, always with a
// database of its own that is dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/plenaryhq/plenary/internal/store"
)

// EnvMongoURI names the variable that points the store tests at a real MongoDB.
const EnvMongoURI = "PLENARY_TEST_MONGO_URI"

// Open returns a store for t with a unique database, closed and dropped on
// cleanup.
func Open(t testing.TB) *store.Store {
	t.Helper()
	cfg := store.Config{
		URI:      os.Getenv(EnvMongoURI),
		DataDir:  t.TempDir(),
		Database: "test_" + RandomSuffix(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.DropDatabase(ctx)
		_ = s.Close()
	})
	return s
}

// RandomSuffix returns 12 random hex characters for unique names.
func RandomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ExternalURI is the real MongoDB the tests run against, or "" for embedded.
func ExternalURI() string { return os.Getenv(EnvMongoURI) }
