package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
)

func runTenant(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list" && args[0] != "rotate-key" && args[0] != "retire-key") {
		fmt.Fprintln(stderr, "Usage: plenary tenant create --id ID --name NAME\n       plenary tenant list\n       plenary tenant rotate-key --id ID\n       plenary tenant retire-key --id ID --kid KID")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return fmt.Errorf("%w: want a subcommand: create, list, rotate-key or retire-key", errUsage)
	}
	sub := args[0]
	fs := newFlagSet("tenant "+sub, "Creates a tenant (an organizer) with a fresh signing key, lists tenants, or rotates\nand retires a tenant's token signing keys (rotate, wait for old tokens to expire, retire).", stderr)
	var sf storeFlags
	sf.bind(fs)
	var id, name, kid string
	if sub != "list" {
		fs.StringVar(&id, "id", "", "tenant id: lower-case letters, digits and '-', at most 63 characters (required)")
	}
	switch sub {
	case "create":
		fs.StringVar(&name, "name", "", "display name of the tenant (default: the id)")
	case "retire-key":
		fs.StringVar(&kid, "kid", "", "id of the key to retire, as printed by rotate-key (required)")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ts := auth.NewTenants(st)
	if sub == "list" {
		list, err := ts.ListTenants(ctx)
		if err != nil {
			return err
		}
		for _, t := range list {
			fmt.Fprintf(stdout, "%s\t%s\t%s\n", t.ID, t.Name, t.Created.UTC().Format(time.RFC3339))
		}
		return nil
	}
	tid, err := tenant.Parse(id)
	if err != nil {
		return fmt.Errorf("%w: --id: %w", errUsage, err)
	}
	switch sub {
	case "rotate-key":
		k, err := ts.RotateKey(ctx, tid)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "tenant %s signs new tokens with key %s; retire older keys once their tokens have expired\n", tid, k.ID)
		return nil
	case "retire-key":
		if kid == "" {
			return fmt.Errorf("%w: --kid is required", errUsage)
		}
		if err := ts.RetireKey(ctx, tid, kid); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "tenant %s: key %s retired; tokens it signed no longer verify\n", tid, kid)
		return nil
	}
	if name == "" {
		name = id
	}
	t, err := ts.CreateTenant(ctx, tid, name)
	if errors.Is(err, auth.ErrTenantExists) {
		return fmt.Errorf("tenant %q already exists", tid)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created tenant %s (%s)\n", t.ID, t.Name)
	return nil
}

const tokenSynopsis = `Prints a JWT signed with the tenant's current key. Send it as
"Authorization: Bearer <token>" or, for WebSockets, as ?access_token=<token>.`

func runToken(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("token", tokenSynopsis, stderr)
	var sf storeFlags
	sf.bind(fs)
	var (
		tid, user, name, role string
		rooms                 listFlag
		ttl                   time.Duration
	)
	fs.StringVar(&tid, "tenant", "", "tenant id (required)")
	fs.StringVar(&user, "user", "", "subject: the user's id within the tenant (required)")
	fs.StringVar(&name, "name", "", "display name (default: --user)")
	fs.StringVar(&role, "role", "attendee", "role: attendee, speaker, moderator or organizer")
	fs.Var(&rooms, "room", "room the token grants; repeat or comma-separate for several (default: every room of the tenant)")
	fs.DurationVar(&ttl, "ttl", time.Hour, "lifetime of the token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id, err := tenant.Parse(tid)
	if err != nil {
		return fmt.Errorf("%w: --tenant: %w", errUsage, err)
	}
	if user == "" {
		return fmt.Errorf("%w: --user is required", errUsage)
	}
	r, err := auth.ParseRole(role)
	if err != nil {
		return fmt.Errorf("%w: --role: %w", errUsage, err)
	}
	if ttl <= 0 {
		return fmt.Errorf("%w: --ttl must be positive", errUsage)
	}
	if name == "" {
		name = user
	}
	st, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := auth.NewIssuer(auth.NewTenants(st), auth.IssuerOptions{}).Mint(ctx, auth.MintRequest{
		Tenant: id, Subject: user, Name: name, Role: r, Rooms: rooms, TTL: ttl,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// listFlag collects a repeatable, comma-separable flag.
type listFlag []string

func (l *listFlag) String() string { return fmt.Sprint([]string(*l)) }

func (l *listFlag) Set(s string) error {
	for _, p := range splitComma(s) {
		*l = append(*l, p)
	}
	return nil
}
