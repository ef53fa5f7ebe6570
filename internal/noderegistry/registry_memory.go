package noderegistry

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

var (
	_ Registry = (*MemoryRegistry)(nil)
	_ Closer   = (*MemoryRegistry)(nil)
)

// MemoryRegistry is the single-process Registry. Expired nodes are
// dropped lazily on read, so it needs no goroutine.
type MemoryRegistry struct {
	now func() time.Time

	mu     sync.Mutex
	nodes  map[string]memEntry
	closed bool
}

// memEntry is a stored node and its expiry.
type memEntry struct {
	node    Node
	expires time.Time
}

// NewMemoryRegistry returns an empty registry. now is the clock (nil means
// time.Now); tests pass a fake one to expire nodes without waiting.
func NewMemoryRegistry(now func() time.Time) *MemoryRegistry {
	if now == nil {
		now = time.Now
	}
	return &MemoryRegistry{now: now, nodes: make(map[string]memEntry)}
}

// Heartbeat implements Registry.
func (m *MemoryRegistry) Heartbeat(ctx context.Context, n Node, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validate(n); err != nil {
		return err
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	now := m.now()
	n = cloneNode(n)
	n.Updated = now.UTC()
	m.nodes[n.ID] = memEntry{node: n, expires: now.Add(ttl)}
	return nil
}

// Remove implements Registry.
func (m *MemoryRegistry) Remove(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.nodes, id)
	return nil
}

// Get implements Registry.
func (m *MemoryRegistry) Get(ctx context.Context, id string) (Node, error) {
	if err := ctx.Err(); err != nil {
		return Node{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Node{}, ErrClosed
	}
	e, ok := m.nodes[id]
	if !ok || !m.now().Before(e.expires) {
		delete(m.nodes, id)
		return Node{}, ErrNotFound
	}
	return cloneNode(e.node), nil
}

// List implements Registry.
func (m *MemoryRegistry) List(ctx context.Context) ([]Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	now := m.now()
	out := make([]Node, 0, len(m.nodes))
	for id, e := range m.nodes {
		if !now.Before(e.expires) {
			delete(m.nodes, id)
			continue
		}
		out = append(out, cloneNode(e.node))
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Close implements Closer; it is idempotent.
func (m *MemoryRegistry) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.nodes = nil
	return nil
}
