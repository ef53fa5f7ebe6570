package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/loadtest"
)

// runLoadtest is `plenary loadtest` and `plenary loadtest merge`. Bot tokens
// are minted from the tenant's key in the store (the store flags, as for
// `plenary token`) or from --organizer-token through the server.
func runLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := loadtest.Command(ctx, args, loadtest.CommandEnv{
		Stdout: stdout, Stderr: stderr,
		BindStore: func(fs *flag.FlagSet) func(context.Context) (*auth.Issuer, func() error, error) {
			var sf storeFlags
			sf.bind(fs)
			return func(ctx context.Context) (*auth.Issuer, func() error, error) {
				st, err := sf.open(ctx)
				if err != nil {
					return nil, nil, err
				}
				return auth.NewIssuer(auth.NewTenants(st), auth.IssuerOptions{}), st.Close, nil
			}
		},
	})
	if err != nil && loadtest.ExitCode(err) == 2 {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return err
}
