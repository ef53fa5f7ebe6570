package chat

import (
	"errors"
	"fmt"
	"time"
)

// Config tunes the service. A zero field means its default, named in the
// field's comment.
type Config struct {
	// MaxMessageRunes bounds chat and announcement text, in characters.
	// Default 500.
	MaxMessageRunes int
	// MaxQuestionRunes bounds a Q&A question or answer. Default 300.
	MaxQuestionRunes int
	// MaxPollOptions bounds the options of a poll (at least 2). Default 10.
	MaxPollOptions int
	// MaxReplay bounds the events OnJoin replays; a longer gap replays the
	// newest MaxReplay and marks the sync incomplete. Default 1000.
	MaxReplay int
	// JoinBacklog is how many recent events a first join (since 0)
	// receives. Default 50; negative means none.
	JoinBacklog int
	// MaxPage bounds one chat.history or REST page. Default 100.
	MaxPage int
	// RatePerSecond and RateBurst are the per-user token bucket shared by
	// every write command (send, edit, react, ask, vote, report). Defaults
	// 5 per second, burst 10.
	RatePerSecond float64
	// RateBurst: see RatePerSecond.
	RateBurst int
	// StateTTL is how long a process caches a room's moderation state and
	// a tenant's word filter; changes made on another process take effect
	// here within it. Default 2s.
	StateTTL time.Duration
	// AggregateInterval coalesces count updates (Q&A votes, poll results,
	// reaction counts): at most one event per item per interval per
	// process. Default 500ms.
	AggregateInterval time.Duration
	// ArchiveBatch bounds one group-commit write to the archive. Default 256.
	ArchiveBatch int
	// ArchiveRetryMax bounds events waiting to be re-archived after a store
	// failure; while it is full, sends fail with CodeUnavailable. Default
	// 10000.
	ArchiveRetryMax int
	// BackendTimeout bounds each history and store call made for a client
	// request, so a dead backend yields a retryable error quickly. Default 2s.
	BackendTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultMaxMessageRunes   = 500
	DefaultMaxQuestionRunes  = 300
	DefaultMaxPollOptions    = 10
	DefaultMaxReplay         = 1000
	DefaultJoinBacklog       = 50
	DefaultMaxPage           = 100
	DefaultRatePerSecond     = 5
	DefaultRateBurst         = 10
	DefaultStateTTL          = 2 * time.Second
	DefaultAggregateInterval = 500 * time.Millisecond
	DefaultArchiveBatch      = 256
	DefaultArchiveRetryMax   = 10000
	DefaultBackendTimeout    = 2 * time.Second
)

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxMessageRunes, DefaultMaxMessageRunes)
	def(&c.MaxQuestionRunes, DefaultMaxQuestionRunes)
	def(&c.MaxPollOptions, DefaultMaxPollOptions)
	def(&c.MaxReplay, DefaultMaxReplay)
	def(&c.JoinBacklog, DefaultJoinBacklog)
	def(&c.MaxPage, DefaultMaxPage)
	def(&c.RateBurst, DefaultRateBurst)
	def(&c.ArchiveBatch, DefaultArchiveBatch)
	def(&c.ArchiveRetryMax, DefaultArchiveRetryMax)
	if c.JoinBacklog < 0 {
		c.JoinBacklog = 0
	}
	if c.RatePerSecond == 0 {
		c.RatePerSecond = DefaultRatePerSecond
	}
	if c.StateTTL == 0 {
		c.StateTTL = DefaultStateTTL
	}
	if c.AggregateInterval == 0 {
		c.AggregateInterval = DefaultAggregateInterval
	}
	if c.BackendTimeout == 0 {
		c.BackendTimeout = DefaultBackendTimeout
	}
	return c
}

// Validate reports settings that cannot work, saying what to change.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if c.MaxMessageRunes < 1 || c.MaxQuestionRunes < 1 {
		bad("message and question limits must be positive")
	}
	if c.MaxPollOptions < 2 {
		bad("MaxPollOptions %d: a poll needs at least 2 options", c.MaxPollOptions)
	}
	if c.MaxReplay < 1 || c.MaxPage < 1 || c.ArchiveBatch < 1 || c.ArchiveRetryMax < 1 {
		bad("MaxReplay, MaxPage, ArchiveBatch and ArchiveRetryMax must be positive")
	}
	if c.RatePerSecond < 0 || c.RateBurst < 1 {
		bad("RatePerSecond must be positive and RateBurst at least 1")
	}
	if c.StateTTL < 0 || c.AggregateInterval < 0 || c.BackendTimeout < 0 {
		bad("durations must not be negative")
	}
	return errors.Join(errs...)
}
