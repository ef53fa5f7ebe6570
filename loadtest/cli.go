package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/plenaryhq/plenary/internal/httpserver"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// CommandEnv is what the `plenary loadtest` subcommands need from main.
type CommandEnv struct {
	// Stdout receives the summary; Stderr usage, logs and the progress
	// line.
	Stdout, Stderr io.Writer
	// BindStore, when set, binds main's store flags (--data-dir,
	// --mongo-uri, …) on fs and returns how to open the tenant registry's
	// token issuer from them, with a close function. Without it only
	// --organizer-token mints tokens.
	BindStore func(fs *flag.FlagSet) func(ctx context.Context) (*auth.Issuer, func() error, error)
}

// Help texts of the subcommands.
const (
	runSynopsis = `Usage: plenary loadtest --target URL --scenario FILE --tenant ID [flags]
       plenary loadtest merge --out DIR SHARD_DIR...

Runs the bots of a scenario (see loadtest/scenarios) against the gateways
at --target, prints a progress line every second on stderr, and writes
report.json and report.html to --report. Exits 1 when an SLO of the
scenario fails (or the run could not complete), 2 on a usage error.

Spread a large run over several processes or machines with --shard i/n and
the same --run-id, then combine their reports with 'plenary loadtest merge'.

Bot tokens are minted for --tenant either by the server from
--organizer-token (POST /v1/tenants/{tenant}/tokens), or directly with the
tenant's key from the deployment's store (--data-dir or --mongo-uri).`
	mergeSynopsis = `Usage: plenary loadtest merge --out DIR SHARD_DIR...

Merges the reports of the shards of one run (each SHARD_DIR holds a
report.json) into DIR/report.json and DIR/report.html. Histograms merge
exactly; SLOs are judged again on the merged figures. Exits 1 when an SLO
fails, 2 on a usage error.`
)

// Command runs `plenary loadtest [merge] ARGS`.
func Command(ctx context.Context, args []string, env CommandEnv) error {
	if len(args) > 0 && args[0] == "merge" {
		return mergeCommand(args[1:], env)
	}
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, runSynopsis)
		fmt.Fprintln(env.Stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	var (
		targets, mediaTargets, ifaces  listValue
		scenario, report, shard, runID string
		tenantID, orgToken, tokenURL   string
		logLevel, debugListen          string
		workers, maxConnecting         int
		loopback, quiet                bool
	)
	fs.Var(&targets, "target", "gateway to connect bots to: ws://host:port/v1/ws or http://host:port; repeat or comma-separate to spread bots over several (required)")
	fs.Var(&mediaTargets, "media-target", "gateway for viewer and speaker bots, when only some gateways run an SFU (default: --target)")
	fs.StringVar(&scenario, "scenario", "", "scenario YAML file, e.g. loadtest/scenarios/keynote.yaml (required)")
	fs.StringVar(&report, "report", "loadtest-report", "directory for report.json and report.html")
	fs.StringVar(&shard, "shard", "0/1", "this process's share of the bots, i/n: run n processes with i = 0..n-1 and merge their reports")
	fs.StringVar(&runID, "run-id", "", "run identifier in bot names and reports; give every shard the same one (default: random)")
	fs.StringVar(&tenantID, "tenant", "", "tenant whose rooms the bots join (required)")
	fs.StringVar(&orgToken, "organizer-token", "", "organizer token of the tenant: bot tokens are minted by the server's token endpoint")
	fs.StringVar(&tokenURL, "token-url", "", "base URL of the token endpoint (default: the first --target as http(s))")
	fs.IntVar(&workers, "workers", DefaultWorkers, "goroutines sending scheduled chat actions")
	fs.IntVar(&maxConnecting, "max-connecting", DefaultMaxConnecting, "connects, joins and reconnects in flight at once")
	fs.Var(&ifaces, "ice-interface", "network interface media bots gather ICE candidates on; repeat for several (default: all)")
	fs.BoolVar(&loopback, "ice-loopback", false, "also gather loopback candidates (automatic when every target is on loopback)")
	fs.BoolVar(&quiet, "quiet", false, "no progress line")
	fs.StringVar(&debugListen, "debug-listen", "", "address serving Go's profiler at /debug/pprof/ while the run lasts, e.g. 127.0.0.1:6061 (default: off)")
	fs.StringVar(&logLevel, "log-level", "warn", "log level of the tester's own logs on stderr: debug, info, warn or error")
	var openIssuer func(ctx context.Context) (*auth.Issuer, func() error, error)
	if env.BindStore != nil {
		openIssuer = env.BindStore(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrInvalidOptions, fs.Arg(0))
	}
	if scenario == "" || len(targets) == 0 || tenantID == "" {
		return fmt.Errorf("%w: --scenario, --target and --tenant are required", ErrInvalidOptions)
	}
	tid, err := tenant.Parse(tenantID)
	if err != nil {
		return fmt.Errorf("%w: --tenant: %w", ErrInvalidOptions, err)
	}
	sh, err := ParseShard(shard)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: debug, info, warn or error", ErrInvalidOptions, logLevel)
	}
	sc, err := LoadScenario(scenario)
	if err != nil {
		return err
	}
	opts := Options{Targets: targets, MediaTargets: mediaTargets, Scenario: sc, ReportDir: report, Shard: sh, RunID: runID,
		Log:     slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level})),
		Workers: workers, MaxConnecting: maxConnecting,
		Media: MediaOptions{Interfaces: ifaces, IncludeLoopback: loopback}}
	if !quiet {
		opts.Progress = env.Stderr
	}
	switch {
	case orgToken != "":
		base := tokenURL
		if base == "" {
			if base, err = httpBase(targets[0]); err != nil {
				return err
			}
		}
		opts.Tokens = HTTPTokens(base, tid, orgToken, nil)
	case openIssuer != nil:
		iss, closeStore, err := openIssuer(ctx)
		if err != nil {
			return fmt.Errorf("loadtest: tenant keys: %w", err)
		}
		defer func() { _ = closeStore() }()
		opts.Tokens = IssuerTokens(iss, tid)
	default:
		return fmt.Errorf("%w: give --organizer-token, or the deployment's store (--data-dir or --mongo-uri)", ErrNoTokens)
	}
	if debugListen != "" {
		dctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			if err := httpserver.ServeDebug(dctx, debugListen, opts.Log); err != nil {
				opts.Log.Warn("profiler", "err", err)
			}
		}()
	}
	rep, err := Run(ctx, opts)
	if rep != nil {
		fmt.Fprint(env.Stdout, rep.Summary())
		fmt.Fprintf(env.Stdout, "report: %s\n", report)
	}
	return err
}

// mergeCommand runs `plenary loadtest merge`.
func mergeCommand(args []string, env CommandEnv) error {
	fs := flag.NewFlagSet("loadtest merge", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, mergeSynopsis)
		fmt.Fprintln(env.Stderr, "\nFlags:")
		fs.PrintDefaults()
	}
	out := fs.String("out", "loadtest-report", "directory for the merged report.json and report.html")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: give the report directory of every shard", ErrInvalidOptions)
	}
	rep, err := Merge(fs.Args()...)
	if err != nil {
		return err
	}
	if err := rep.Write(*out); err != nil {
		return err
	}
	fmt.Fprint(env.Stdout, rep.Summary())
	fmt.Fprintf(env.Stdout, "report: %s\n", *out)
	return rep.Err()
}

// httpBase turns a target into the http(s) base URL of its server.
func httpBase(target string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: target %q", ErrInvalidOptions, target)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	}
	return u.Scheme + "://" + u.Host, nil
}

// listValue is a repeatable, comma-separable flag.
type listValue []string

// String implements flag.Value.
func (l *listValue) String() string { return strings.Join(*l, ",") }

// Set implements flag.Value.
func (l *listValue) Set(s string) error {
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	if len(*l) == 0 {
		return errors.New("empty value")
	}
	return nil
}

// Summary is the few lines a terminal shows at the end of a run.
func (r *Report) Summary() string {
	var b strings.Builder
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s %s: %d bots (%d joined) in %.0f s over %d shard(s)\n", verdict, r.Scenario, r.Bots, r.BotsJoined, r.DurationS, len(r.Shards))
	fmt.Fprintf(&b, "  join p50/p99 %v/%v ms; chat sent %d, delivery p99 %v ms, %d of %d events missing, %d duplicates\n",
		r.JoinMS.P50, r.JoinMS.P99, r.Chat.Sent, r.Chat.LatencyMS.P99, r.Chat.Missing, r.Chat.Expected, r.Chat.Duplicates)
	if r.Media.Subscribers > 0 || r.Media.Publishers > 0 {
		fmt.Fprintf(&b, "  media: %d publishers, %d viewers, first frame p99 %v ms, latency p99 %v ms, loss %v%%\n",
			r.Media.Publishers, r.Media.Subscribers, r.Media.FirstFrameMS.P99, r.Media.LatencyMS.P99, r.Media.LossPct)
	}
	fmt.Fprintf(&b, "  drops %d, reconnects %d, errors %d %v\n", r.Drops, r.Reconnects, r.ErrorsTotal, r.Errors)
	for _, name := range r.Failed() {
		v := r.SLO[name]
		actual := "no data"
		if v.Actual != nil {
			actual = fmt.Sprint(*v.Actual)
		}
		fmt.Fprintf(&b, "  SLO failed: %s = %s, want %s %v\n", name, actual, v.Op, v.Target)
	}
	return b.String()
}
