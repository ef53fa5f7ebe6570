// Command plenary is the one Plenary binary: `plenary serve` runs any set of
// roles; the other subcommands manage tenants, mint tokens and drive jobs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand: its name, one line of help and its entry point.
type command struct {
	name  string
	short string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the platform (all roles by default)", runServe},
		{"tenant", "manage tenants: plenary tenant create --id ID --name NAME", runTenant},
		{"token", "mint a signed JWT for a user of a tenant", runToken},
		{"schedule", "import/export a convention timetable via a running server", runSchedule},
		{"loadtest", "run a load-test scenario with simulated bots (plenary loadtest merge combines shards)", runLoadtest},
		{"recorder", "recorder tools: plenary recorder package --in DIR --out DIR", runRecorder},
		{"version", "print the version", runVersion},
	}
}

// errUsage marks an error whose message is a usage problem (exit code 2).
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		// The first SIGINT/SIGTERM cancels ctx (drain); a second one forces
		// exit without waiting (STYLE.md §6).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			stop()
			again := make(chan os.Signal, 1)
			signal.Notify(again, os.Interrupt, syscall.SIGTERM)
			<-again
			fmt.Fprintln(stderr, "second signal: exiting now")
			os.Exit(1)
		}()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "plenary %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "plenary %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "plenary: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Plenary %s — real-time interactive virtual events.\n\nUsage: plenary <command> [flags]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.short)
	}
	fmt.Fprintln(w, "\nRun 'plenary <command> --help' for the flags of a command. Every flag can also be set")
	fmt.Fprintln(w, "with an environment variable PLENARY_<FLAG> ('-' as '_'), e.g. PLENARY_REDIS_URL.")
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "", stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "plenary %s\n", version)
	return nil
}

// newFlagSet returns a flag set whose --help prints a synopsis first.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("plenary "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: plenary %s [flags]\n", name)
		if synopsis != "" {
			fmt.Fprintf(stderr, "\n%s\n", synopsis)
		}
		fmt.Fprintln(stderr, "\nFlags (each also settable as PLENARY_<FLAG>, '-' as '_'):")
		fs.PrintDefaults()
	}
	return fs
}

// splitComma splits s at commas, trimming spaces and dropping empty parts.
func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
