package noderegistry

import "errors"

var (
	// ErrNotFound is returned when no live node has the requested ID (it
	// never registered, was removed, or stopped heartbeating).
	ErrNotFound = errors.New("noderegistry: node not found")
	// ErrInvalidNode is returned by Heartbeat for a node without an ID or
	// region, or with an ID that cannot be used as a key.
	ErrInvalidNode = errors.New("noderegistry: invalid node")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("noderegistry: closed")
	// ErrUnavailable wraps a backend failure (Redis unreachable).
	ErrUnavailable = errors.New("noderegistry: backend unavailable")
	// ErrNoNode is returned by Place when no live, non-draining node can
	// take the participant.
	ErrNoNode = errors.New("noderegistry: no node available")
)
