package loadtest

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options configure Run.
type Options struct {
	// Targets are the gateways bots connect to, spread round-robin:
	// WebSocket URLs (ws://host:8080/v1/ws) or base URLs (http://host:8080,
	// to which /v1/ws is added). At least one.
	Targets []string
	// MediaTargets, when set, are the gateways of viewer and speaker bots
	// (those placed on an SFU node; until signaling reaches remote SFU
	// nodes, the gateways that run one). Default: Targets.
	MediaTargets []string
	// Scenario is the run's scenario (LoadScenario).
	Scenario *Scenario
	// ReportDir receives report.json and report.html; empty writes none.
	ReportDir string
	// Shard is this process's part of the run. Zero means 0/1 (all bots).
	Shard Shard
	// Tokens mints bot tokens (IssuerTokens or HTTPTokens). Required.
	Tokens TokenSource
	// RunID names the run in bot identities and reports; shards of one
	// run should share it. Default: random.
	RunID string
	// Log receives the tester's own logs. Nil discards.
	Log *slog.Logger
	// Progress, when set, receives one status line per second (os.Stderr
	// on a terminal).
	Progress io.Writer
	// Workers is the number of goroutines sending scheduled actions
	// (chat, reactions, votes, drops). Default 64.
	Workers int
	// MaxConnecting bounds connects, joins and reconnects in flight.
	// Default 1000.
	MaxConnecting int
	// Media configures the WebRTC side of viewer and speaker bots.
	Media MediaOptions
}

// MediaOptions configure the peer connections of media bots.
type MediaOptions struct {
	// Interfaces restricts ICE to these network interfaces (e.g. "lo",
	// "eth0"); empty means all.
	Interfaces []string
	// IncludeLoopback gathers loopback candidates, needed when the SFU
	// runs on the same machine and listens on 127.0.0.1 only.
	IncludeLoopback bool
}

// runIDRE is the shape of a run id (it becomes part of bot identities).
var runIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,15}$`)

// Defaults of Options.
const (
	DefaultWorkers       = 64
	DefaultMaxConnecting = 1000
	// DefaultWSPath is the gateway's WebSocket path, added to base URLs.
	DefaultWSPath = "/v1/ws"
)

// Shard is one load-tester process's share of a run: the bots whose index
// in their group is congruent to Index modulo Count. The zero value is the
// whole run.
type Shard struct {
	Index int
	Count int
}

// ParseShard parses "i/n" (0 <= i < n), e.g. "0/2" and "1/2".
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("%w: shard %q: write i/n with 0 <= i < n, e.g. 0/2", ErrInvalidOptions, s)
	}
	return Shard{Index: i, Count: n}, nil
}

// String formats the shard as i/n.
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, max(s.Count, 1)) }

// normalize turns the zero shard into 0/1.
func (s Shard) normalize() Shard {
	if s.Count < 1 {
		return Shard{Index: 0, Count: 1}
	}
	return s
}

// owns reports whether bot i of a group belongs to the shard.
func (s Shard) owns(i int) bool { return i%s.Count == s.Index }

// wsURL turns a target into the gateway's WebSocket URL.
func wsURL(target string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%w: target %q: give ws://host:port/v1/ws or http://host:port", ErrInvalidOptions, target)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w: target %q: scheme must be ws, wss, http or https", ErrInvalidOptions, target)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = DefaultWSPath
	}
	return u.String(), nil
}

// validate checks o and fills defaults; it returns the WebSocket URLs of
// Targets and MediaTargets.
func (o *Options) validate() (urls, mediaURLs []string, err error) {
	if o.Scenario == nil {
		return nil, nil, fmt.Errorf("%w: a scenario is required", ErrInvalidOptions)
	}
	if len(o.Targets) == 0 {
		return nil, nil, fmt.Errorf("%w: at least one target is required (--target ws://host:port/v1/ws)", ErrInvalidOptions)
	}
	if o.Tokens == nil {
		return nil, nil, fmt.Errorf("%w: give a way to mint bot tokens (an organizer credential)", ErrNoTokens)
	}
	o.Shard = o.Shard.normalize()
	if o.Shard.Index < 0 || o.Shard.Index >= o.Shard.Count {
		return nil, nil, fmt.Errorf("%w: shard %s: index must be below count", ErrInvalidOptions, o.Shard)
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxConnecting <= 0 {
		o.MaxConnecting = DefaultMaxConnecting
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RunID == "" {
		o.RunID = strconv.FormatInt(time.Now().UnixNano()%(36*36*36*36*36), 36)
	}
	if !runIDRE.MatchString(o.RunID) {
		return nil, nil, fmt.Errorf("%w: run id %q: 1-16 lower-case letters, digits and '-'", ErrInvalidOptions, o.RunID)
	}
	if urls, err = wsURLs(o.Targets); err != nil {
		return nil, nil, err
	}
	mediaURLs = urls
	if len(o.MediaTargets) > 0 {
		if mediaURLs, err = wsURLs(o.MediaTargets); err != nil {
			return nil, nil, err
		}
	}
	return urls, mediaURLs, nil
}

// wsURLs converts targets with wsURL.
func wsURLs(targets []string) ([]string, error) {
	out := make([]string, len(targets))
	for i, t := range targets {
		u, err := wsURL(t)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

// ExitCode is the process exit code for Run's or Merge's error: 0 for
// success, 2 for unusable options or scenario (a usage error), 1 for
// everything else — a failed SLO, an interrupted run, an unreadable report.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrInvalidOptions), errors.Is(err, ErrInvalidScenario), errors.Is(err, ErrNoTokens):
		return 2
	}
	return 1
}
