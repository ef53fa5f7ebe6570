package bus_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/bus/bustest"
	"github.com/plenaryhq/plenary/internal/metrics"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// newMemory is the conformance-suite factory for MemoryBus.
func newMemory(t *testing.T, o bustest.Options) bus.Bus {
	b := bus.NewMemoryBus(bus.MemoryConfig{BufferSize: o.BufferSize}, nil)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func TestMemoryBusConformance(t *testing.T) {
	bustest.Run(t, newMemory)
}

// TestMemoryBusSlowSubscriberDoesNotBlock shows the drop-oldest policy from
// the metrics side: a subscriber that never reads costs the publisher nothing,
// keeps the newest messages, and every overflow is counted.
func TestMemoryBusSlowSubscriberDoesNotBlock(t *testing.T) {
	const size, n = 4, 10_000
	b := bus.NewMemoryBus(bus.MemoryConfig{BufferSize: size}, nil)
	t.Cleanup(func() { _ = b.Close() })
	ch, err := bus.TenantChannel(tenant.MustParse("acme"), "stalled")
	require.NoError(t, err)
	s, err := b.Subscribe(context.Background(), ch)
	require.NoError(t, err)

	dropped0 := counter(t, "plenary_bus_dropped_total")
	delivered0 := counter(t, "plenary_bus_delivered_total")
	for i := range n {
		require.NoError(t, b.Publish(context.Background(), ch, []byte(strconv.Itoa(i))))
	}
	require.Equal(t, float64(n-size), counter(t, "plenary_bus_dropped_total")-dropped0)
	require.Equal(t, float64(n), counter(t, "plenary_bus_delivered_total")-delivered0)

	for i := n - size; i < n; i++ {
		require.Equal(t, strconv.Itoa(i), string(bustest.Recv(t, s)))
	}
	require.NoError(t, s.Close())
	bustest.RequireClosed(t, s)
}

func TestMemoryBusSubscriptionGauge(t *testing.T) {
	b := bus.NewMemoryBus(bus.MemoryConfig{}, nil)
	t.Cleanup(func() { _ = b.Close() })
	ch, err := bus.SystemChannel("gauge")
	require.NoError(t, err)

	before := counter(t, "plenary_bus_subscriptions")
	s1, err := b.Subscribe(context.Background(), ch)
	require.NoError(t, err)
	s2, err := b.Subscribe(context.Background(), ch)
	require.NoError(t, err)
	require.Equal(t, before+2, counter(t, "plenary_bus_subscriptions"))
	require.NoError(t, s1.Close())
	require.NoError(t, s1.Close())
	require.Equal(t, before+1, counter(t, "plenary_bus_subscriptions"))
	require.NoError(t, b.Close())
	require.Equal(t, before, counter(t, "plenary_bus_subscriptions"), "bus Close releases subscriptions")
	require.NoError(t, s2.Close())
	require.Equal(t, before, counter(t, "plenary_bus_subscriptions"))
}

// counter reads the memory-backend series of a bus metric from the registry.
func counter(t *testing.T, name string) float64 {
	t.Helper()
	return metricValue(t, name, "memory")
}

// metricValue reads one backend's series of a bus metric.
func metricValue(t *testing.T, name, backend string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "backend" && l.GetValue() == backend {
					if c := m.GetCounter(); c != nil {
						return c.GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return 0
}
