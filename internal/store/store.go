// Package store is Plenary's document store: one implementation on the
// MongoDB Go driver (v2).
//
// Without a MongoDB URI the store starts FerretDB in-process (SQLite backend,
// files under the data directory) and connects to it over the real MongoDB
// wire protocol, so the embedded default and a production MongoDB replica set
// run the same code path. The embedded server also listens on a local TCP
// address so that other Plenary processes on the machine can share it with
// --mongo-uri.
//
// Tenant isolation is built into the API: tenant data is reached only through
// Collection.Tenant, which adds the tenant to every filter, document, update
// and index. System collections that are not owned by one tenant (the tenant
// registry itself, the job queue) are reached through Store.System and say so
// at the call site.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Config says which MongoDB to use. The zero value runs embedded FerretDB
// under ./data/ferretdb listening on 127.0.0.1 with a random port, database
// "plenary".
type Config struct {
	// URI of an external MongoDB (or another process's embedded FerretDB).
	// Empty starts embedded FerretDB.
	URI string
	// DataDir holds the embedded FerretDB's SQLite files (in DataDir/ferretdb).
	// Default "./data".
	DataDir string
	// Database name. Default "plenary". Tests use a unique name per run.
	Database string
	// Listen is the TCP address the embedded FerretDB serves other local
	// processes on. Default "127.0.0.1:0" (a free port, printed at start).
	Listen string
}

func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.Database == "" {
		c.Database = "plenary"
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	return c
}

// Store is an open connection to the document store.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	uri    string
	log    *slog.Logger

	embedded   bool
	stopFerret context.CancelFunc
	ferretDone chan struct{}
	closeOnce  sync.Once
	closeErr   error
}

// Open connects to the configured MongoDB, starting embedded FerretDB first
// when no URI is given. It returns once the server answers a ping.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	s := &Store{log: log.With("component", "store")}
	uri := cfg.URI
	if uri == "" {
		var err error
		uri, err = s.startEmbedded(cfg)
		if err != nil {
			return nil, err
		}
	}
	s.uri = uri
	opts := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(10 * time.Second).
		SetConnectTimeout(5 * time.Second)
	client, err := mongo.Connect(opts)
	if err != nil {
		s.stopEmbedded()
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		s.stopEmbedded()
		return nil, fmt.Errorf("%w: ping %s: %w", ErrUnavailable, redactURI(uri), err)
	}
	s.client = client
	s.db = client.Database(cfg.Database)
	s.log.Info("store open", "uri", redactURI(uri), "database", cfg.Database, "embedded", s.embedded)
	return s, nil
}

// startEmbedded starts FerretDB with the SQLite backend and returns its URI.
func (s *Store) startEmbedded(cfg Config) (string, error) {
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "ferretdb"))
	if err != nil {
		return "", fmt.Errorf("store data dir: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("store data dir: %w", err)
	}
	// FerretDB resolves a port-0 address only once it runs; pick the port
	// here so that the URI is known before Run and can be printed.
	addr, err := resolveListen(cfg.Listen)
	if err != nil {
		return "", err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		// FerretDB logs every connection at info and dumps whole wire messages at
		// warn for commands it lacks (endSessions on every disconnect); keep only
		// its errors.
		Logger: slog.New(&levelFilter{h: s.log.With("component", "ferretdb").Handler(), min: slog.LevelError}),
	})
	if err != nil {
		return "", fmt.Errorf("%w: start embedded FerretDB: %w", ErrUnavailable, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.embedded = true
	s.stopFerret = cancel
	s.ferretDone = make(chan struct{})
	go func() {
		defer close(s.ferretDone)
		_ = f.Run(ctx)
	}()
	return f.MongoDBURI(), nil
}

// resolveListen turns host:0 into host:<free port> so that the address is
// fixed before FerretDB binds it.
func resolveListen(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("store listen address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("store listen address %q: %w", addr, err)
	}
	a := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("store listen address %q: %w", addr, err)
	}
	return a, nil
}

func (s *Store) stopEmbedded() {
	if s.stopFerret != nil {
		s.stopFerret()
		<-s.ferretDone
	}
}

// URI is the MongoDB URI the store is connected to; for the embedded server it
// is the address other local processes pass as --mongo-uri.
func (s *Store) URI() string { return s.uri }

// Embedded reports whether the store runs an in-process FerretDB.
func (s *Store) Embedded() bool { return s.embedded }

// Ping checks that the server answers; readiness probes use it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// Close disconnects and stops the embedded server. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.client.Disconnect(ctx); err != nil {
			s.closeErr = err
		}
		s.stopEmbedded()
	})
	return s.closeErr
}

// DropDatabase deletes the whole database. Tests call it on cleanup.
func (s *Store) DropDatabase(ctx context.Context) error {
	return s.db.Drop(ctx)
}

// Collection returns the named collection of tenant-owned documents. Reach
// its documents through Tenant.
func (s *Store) Collection(name string) *Collection {
	return &Collection{c: s.db.Collection(name)}
}

// System returns a collection whose documents are not owned by a single
// tenant: the tenant registry and the durable job queue. Callers document why
// they need it; everything else uses Collection.
func (s *Store) System(name string) *mongo.Collection {
	return s.db.Collection(name)
}

// redactURI hides a password in a MongoDB URI for logging.
func redactURI(uri string) string {
	for i := 0; i+3 <= len(uri); i++ {
		if uri[i:i+3] == "://" {
			rest := uri[i+3:]
			at := -1
			for j := 0; j < len(rest) && rest[j] != '/'; j++ {
				if rest[j] == '@' {
					at = j
				}
			}
			if at < 0 {
				return uri
			}
			return uri[:i+3] + "***@" + rest[at+1:]
		}
	}
	return uri
}

// IsNotFound reports whether err means "no document matched".
func IsNotFound(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, mongo.ErrNoDocuments)
}

// IsDuplicate reports whether err is a unique-index violation.
func IsDuplicate(err error) bool {
	return errors.Is(err, ErrDuplicate) || mongo.IsDuplicateKeyError(err)
}

// DatabaseName is the name of the database the store uses.
func (s *Store) DatabaseName() string { return s.db.Name() }
