package loadtest

import "errors"

// Errors of the load tester. Functions wrap them with %w and context.
var (
	// ErrInvalidScenario is returned for a scenario that cannot run; the
	// message says what to change.
	ErrInvalidScenario = errors.New("loadtest: invalid scenario")
	// ErrInvalidOptions is returned by Run for unusable Options.
	ErrInvalidOptions = errors.New("loadtest: invalid options")
	// ErrSLOFailed is returned (with the full report) when at least one
	// SLO of the scenario was not met.
	ErrSLOFailed = errors.New("loadtest: SLO failed")
	// ErrInvalidReport is returned by Merge and ReadReport for a report
	// that cannot be read or does not match the others.
	ErrInvalidReport = errors.New("loadtest: invalid report")
	// ErrNoTokens is returned when no token source was configured.
	ErrNoTokens = errors.New("loadtest: no token source")
)
