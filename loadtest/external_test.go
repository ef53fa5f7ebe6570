package loadtest

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"testing"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/store"
)

// TestExternal runs `plenary loadtest` (Command, exactly as main will) with
// the arguments in LOADTEST_ARGS against a deployment started by hand; it
// is skipped otherwise. Bot tokens come from the deployment's store, given
// by --mongo-uri (see DATA_DIR/mongo.uri of the serving process):
//
//	LOADTEST_ARGS="--target ws://127.0.0.1:8080/v1/ws --tenant lt --scenario $PWD/loadtest/scenarios/smoke.yaml \
//	  --mongo-uri mongodb://127.0.0.1:PORT/ --report /tmp/lt" go test -run TestExternal -timeout 30m ./loadtest/
func TestExternal(t *testing.T) {
	args := strings.Fields(os.Getenv("LOADTEST_ARGS"))
	if len(args) == 0 {
		t.Skip("set LOADTEST_ARGS to run against a deployment")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	env := CommandEnv{Stdout: os.Stdout, Stderr: os.Stderr,
		BindStore: func(fs *flag.FlagSet) func(context.Context) (*auth.Issuer, func() error, error) {
			uri := fs.String("mongo-uri", "", "MongoDB URI of the deployment's store")
			db := fs.String("mongo-database", "plenary", "database name in the store")
			return func(ctx context.Context) (*auth.Issuer, func() error, error) {
				st, err := store.Open(ctx, store.Config{URI: *uri, Database: *db}, slog.New(slog.DiscardHandler))
				if err != nil {
					return nil, nil, err
				}
				return auth.NewIssuer(auth.NewTenants(st), auth.IssuerOptions{}), st.Close, nil
			}
		}}
	if err := Command(ctx, args, env); err != nil {
		t.Fatalf("exit code %d: %v", ExitCode(err), err)
	}
}
