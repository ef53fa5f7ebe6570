// Package bustest is the conformance suite every bus.Bus implementation must
// pass. Implementations call Run from their tests with a factory that makes a
// fresh, isolated bus (its own key prefix for a networked backend):
//
//	bustest.Run(t, func(t *testing.T, o bustest.Options) bus.Bus {
//		b := bus.NewMemoryBus(bus.MemoryConfig{BufferSize: o.BufferSize}, nil)
//		t.Cleanup(func() { _ = b.Close() })
//		return b
//	})
//
// The suite never sleeps to synchronise: absence of a message is proved by a
// marker published afterwards by the same goroutine arriving first, which
// both backends guarantee (per-publisher ordering).
package bustest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// Options are the settings a test asks the factory for.
type Options struct {
	// BufferSize is the per-subscription buffer the bus must use; zero
	// means the implementation's default.
	BufferSize int
}

// Factory returns a new bus for one test and registers its cleanup (Close)
// with t.Cleanup. Buses made by one factory must not share messages with each
// other unless the test says so; give each its own prefix.
type Factory func(t *testing.T, o Options) bus.Bus

// Timeout bounds every wait in the suite; it is generous because CI machines
// are small and shared.
const Timeout = 10 * time.Second

// Run runs the conformance suite against buses made by newBus.
func Run(t *testing.T, newBus Factory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newBus Factory)
	}{
		{"PublishDeliver", testPublishDeliver},
		{"EmptyMessage", testEmptyMessage},
		{"PublisherMayReuseBuffer", testPublisherMayReuseBuffer},
		{"Ordering", testOrdering},
		{"MultipleSubscribers", testMultipleSubscribers},
		{"Unsubscribe", testUnsubscribe},
		{"ResubscribeSameChannel", testResubscribe},
		{"ConcurrentSubscribeClose", testConcurrentSubscribeClose},
		{"ClosedSubscription", testClosedSubscription},
		{"TenantIsolation", testTenantIsolation},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"LargeMessage", testLargeMessage},
		{"SlowSubscriberDropsOldest", testSlowSubscriber},
		{"InvalidChannel", testInvalidChannel},
		{"ClosedBus", testClosedBus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newBus) })
	}
}

var (
	tenantA = tenant.MustParse("tenant-a")
	tenantB = tenant.MustParse("tenant-b")
)

// ctx returns a context bounded by Timeout.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), Timeout)
	t.Cleanup(cancel)
	return c
}

// channel builds a tenant channel or fails the test.
func channel(t *testing.T, id tenant.ID, name string) bus.Channel {
	t.Helper()
	ch, err := bus.TenantChannel(id, name)
	require.NoError(t, err)
	return ch
}

// subscribe subscribes or fails the test, closing the subscription at cleanup.
func subscribe(t *testing.T, b bus.Bus, ch bus.Channel) bus.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctx(t), ch)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// publish publishes or fails the test.
func publish(t *testing.T, b bus.Bus, ch bus.Channel, msg string) {
	t.Helper()
	require.NoError(t, b.Publish(ctx(t), ch, []byte(msg)))
}

// Recv returns the next message on s, failing the test if none arrives within
// Timeout or if s is closed.
func Recv(t *testing.T, s bus.Subscription) []byte {
	t.Helper()
	select {
	case m, ok := <-s.C():
		require.True(t, ok, "subscription closed while waiting for a message")
		return m
	case <-time.After(Timeout):
		require.FailNow(t, "no message within timeout")
		return nil
	}
}

// RequireClosed waits until s's channel is closed, discarding buffered
// messages, and fails the test after Timeout.
func RequireClosed(t *testing.T, s bus.Subscription) {
	t.Helper()
	deadline := time.After(Timeout)
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return
			}
		case <-deadline:
			require.FailNow(t, "subscription channel not closed within timeout")
		}
	}
}

// requireNext asserts the next message on s is want.
func requireNext(t *testing.T, s bus.Subscription, want string) {
	t.Helper()
	require.Equal(t, want, string(Recv(t, s)))
}

func testPublishDeliver(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "room:1:chat")
	s := subscribe(t, b, ch)
	publish(t, b, ch, "hello")
	requireNext(t, s, "hello")
}

func testEmptyMessage(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "empty")
	s := subscribe(t, b, ch)
	require.NoError(t, b.Publish(ctx(t), ch, nil))
	require.NoError(t, b.Publish(ctx(t), ch, []byte{}))
	require.Empty(t, Recv(t, s))
	require.Empty(t, Recv(t, s))
}

func testPublisherMayReuseBuffer(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "reuse")
	s := subscribe(t, b, ch)
	buf := []byte("first")
	require.NoError(t, b.Publish(ctx(t), ch, buf))
	copy(buf, "XXXXX")
	requireNext(t, s, "first")
}

func testOrdering(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "ordered")
	s := subscribe(t, b, ch)
	const n = 1000 // below the default buffer, so nothing may be dropped
	for i := range n {
		publish(t, b, ch, strconv.Itoa(i))
	}
	for i := range n {
		requireNext(t, s, strconv.Itoa(i))
	}
}

func testMultipleSubscribers(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "fanout")
	other := channel(t, tenantA, "elsewhere")
	subs := []bus.Subscription{subscribe(t, b, ch), subscribe(t, b, ch), subscribe(t, b, ch)}
	elsewhere := subscribe(t, b, other)

	publish(t, b, ch, "to-all")
	publish(t, b, other, "marker")
	for _, s := range subs {
		requireNext(t, s, "to-all")
	}
	requireNext(t, elsewhere, "marker")
}

func testUnsubscribe(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "unsub")
	s1 := subscribe(t, b, ch)
	s2 := subscribe(t, b, ch)

	require.NoError(t, s1.Close())
	RequireClosed(t, s1)
	publish(t, b, ch, "after-s1")
	requireNext(t, s2, "after-s1")

	require.NoError(t, s2.Close())
	RequireClosed(t, s2)
	publish(t, b, ch, "nobody") // no subscriber left: not an error

	s3 := subscribe(t, b, ch)
	publish(t, b, ch, "s3")
	requireNext(t, s3, "s3")
}

func testResubscribe(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "churn")
	for i := range 25 {
		s, err := b.Subscribe(ctx(t), ch)
		require.NoError(t, err)
		msg := "round-" + strconv.Itoa(i)
		publish(t, b, ch, msg)
		requireNext(t, s, msg)
		require.NoError(t, s.Close())
	}
}

// testConcurrentSubscribeClose churns subscriptions of one channel from
// several goroutines (exercising reference counting and, for Redis, the
// SUBSCRIBE/UNSUBSCRIBE ordering), then checks the channel still works.
func testConcurrentSubscribeClose(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "churn:concurrent")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for range 50 {
				s, err := b.Subscribe(ctx(t), ch)
				if err != nil {
					errs <- err
					return
				}
				_ = s.Close()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	s := subscribe(t, b, ch)
	publish(t, b, ch, "survivor")
	requireNext(t, s, "survivor")
}

func testClosedSubscription(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "closed-sub")
	s := subscribe(t, b, ch)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close must be idempotent")
	RequireClosed(t, s)
	publish(t, b, ch, "into-the-void")

	// The bus is still usable for others.
	s2 := subscribe(t, b, ch)
	publish(t, b, ch, "still-works")
	requireNext(t, s2, "still-works")
}

func testTenantIsolation(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	chA := channel(t, tenantA, "room:lobby")
	chB := channel(t, tenantB, "room:lobby")
	chSys, err := bus.SystemChannel("room:lobby")
	require.NoError(t, err)
	require.NotEqual(t, chA, chB)

	sA := subscribe(t, b, chA)
	sB := subscribe(t, b, chB)
	sSys := subscribe(t, b, chSys)

	// Tenant B's and the system's messages come first; each subscriber's
	// first message must nevertheless be its own marker.
	publish(t, b, chB, "secret-of-b")
	publish(t, b, chSys, "system")
	publish(t, b, chA, "marker-a")
	requireNext(t, sA, "marker-a")
	requireNext(t, sB, "secret-of-b")
	requireNext(t, sSys, "system")

	publish(t, b, chA, "secret-of-a")
	publish(t, b, chB, "marker-b")
	requireNext(t, sB, "marker-b")
	requireNext(t, sA, "secret-of-a")
}

func testConcurrentPublishers(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "concurrent")
	s := subscribe(t, b, ch)
	const publishers, each = 4, 200 // total below the default buffer

	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if err := b.Publish(ctx(t), ch, fmt.Appendf(nil, "%d:%d", p, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	next := make([]int, publishers)
	for range publishers * each {
		var p, i int
		_, err := fmt.Sscanf(string(Recv(t, s)), "%d:%d", &p, &i)
		require.NoError(t, err)
		require.Equal(t, next[p], i, "publisher %d out of order", p)
		next[p]++
	}
	for p := range publishers {
		require.Equal(t, each, next[p])
	}
}

func testLargeMessage(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	ch := channel(t, tenantA, "large")
	s := subscribe(t, b, ch)
	big := make([]byte, 1<<20)
	_, _ = rand.Read(big)
	require.NoError(t, b.Publish(ctx(t), ch, big))
	got := Recv(t, s)
	require.Len(t, got, len(big))
	require.True(t, bytes.Equal(big, got), "1 MiB payload corrupted")
}

// testSlowSubscriber checks the documented policy: a subscriber that never
// reads keeps only the newest BufferSize messages, while the publisher and a
// subscriber that keeps up are unaffected.
func testSlowSubscriber(t *testing.T, newBus Factory) {
	const size, n = 16, 64
	b := newBus(t, Options{BufferSize: size})
	ch := channel(t, tenantA, "slow")
	slow := subscribe(t, b, ch)
	fast := subscribe(t, b, ch)

	for i := range n { // lockstep with fast, so fast never overflows
		publish(t, b, ch, strconv.Itoa(i))
		requireNext(t, fast, strconv.Itoa(i))
	}

	// slow's buffer holds the newest messages. Its delivery of the last one
	// may land a moment after fast's, so read until it shows up.
	var got []int
	for len(got) == 0 || got[len(got)-1] != n-1 {
		i, err := strconv.Atoi(string(Recv(t, slow)))
		require.NoError(t, err)
		got = append(got, i)
	}
	require.GreaterOrEqual(t, len(got), size)
	require.LessOrEqual(t, len(got), size+1)
	for k := 1; k < len(got); k++ {
		require.Equal(t, got[k-1]+1, got[k], "slow subscriber must see a contiguous tail: %v", got)
	}
}

func testInvalidChannel(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	for _, ch := range []bus.Channel{"", "room:1", "t:tenant-a", "t:Tenant:x", "sys:", "t:tenant-a:has space"} {
		err := b.Publish(ctx(t), ch, []byte("x"))
		require.ErrorIs(t, err, bus.ErrInvalidChannel, "publish %q", ch)
		_, err = b.Subscribe(ctx(t), ch)
		require.ErrorIs(t, err, bus.ErrInvalidChannel, "subscribe %q", ch)
	}
}

func testClosedBus(t *testing.T, newBus Factory) {
	b := newBus(t, Options{})
	closer, ok := b.(bus.Closer)
	if !ok {
		t.Skip("bus has no Close")
	}
	ch := channel(t, tenantA, "closing")
	s := subscribe(t, b, ch)

	require.NoError(t, closer.Close())
	require.NoError(t, closer.Close(), "Close must be idempotent")
	RequireClosed(t, s)
	require.NoError(t, s.Close())

	err := b.Publish(ctx(t), ch, []byte("late"))
	require.True(t, errors.Is(err, bus.ErrClosed), "publish after close: %v", err)
	_, err = b.Subscribe(ctx(t), ch)
	require.ErrorIs(t, err, bus.ErrClosed)
	if p, ok := b.(bus.Pinger); ok {
		require.ErrorIs(t, p.Ping(ctx(t)), bus.ErrClosed)
	}
}
