package store

import "errors"

// Sentinel errors of the store. Driver errors are wrapped with %w so callers
// can test either.
var (
	// ErrUnavailable means the MongoDB server could not be reached or started.
	ErrUnavailable = errors.New("store unavailable")
	// ErrNotFound means no document matched a tenant-scoped lookup.
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means a unique index rejected a write.
	ErrDuplicate = errors.New("duplicate key")
	// ErrNoTenant means a tenant-scoped operation was attempted without a valid tenant.
	ErrNoTenant = errors.New("operation without a valid tenant")
)
