package actions

import "errors"

// Sentinel errors of the package.
var (
	// ErrLeaseTaken means another elector claimed the term first.
	ErrLeaseTaken = errors.New("lease term already claimed")
	// ErrNotLeader means the elector lost, or never had, the lease.
	ErrNotLeader = errors.New("not the leader")
	// ErrInFlight means another worker is firing the action right now; the
	// job is retried later, in case that worker dies.
	ErrInFlight = errors.New("action being fired by another worker")
	// ErrInvalidConfig means a Config or its dependencies cannot work.
	ErrInvalidConfig = errors.New("invalid actions config")
)
