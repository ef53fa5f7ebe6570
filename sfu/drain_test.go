package sfu

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// leaveOnDrain makes c leave as soon as it is told the node drains, as the
// signaling layer does once it has moved the client elsewhere.
func leaveOnDrain(t *testing.T, c *client) {
	t.Helper()
	go func() {
		for {
			select {
			case <-c.done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if len(c.eventsOf(EventNodeDraining)) > 0 {
				c.p.Leave()
				return
			}
		}
	}()
}

// TestDrainParticipantsLeave: Run's end leaves media up; Drain refuses
// joins, tells every participant once, and returns as soon as all left.
func TestDrainParticipantsLeave(t *testing.T) {
	s := newTestSFU(t, nil)
	pub := joinClient(t, s, "room", "pub", JoinOptions{}, nil)
	sub := joinClient(t, s, "room", "sub", JoinOptions{AutoSubscribe: true}, nil)
	other := joinClient(t, s, "other", "solo", JoinOptions{Hidden: true}, nil)
	pub.publishVideo([]layerSpec{{"", 1, 400}}, 30)
	tid := trackID("pub", "cam")
	packets := func() int {
		r := sub.received(tid)
		if r == nil {
			return 0
		}
		n, _ := r.snapshot()
		return n
	}
	waitFor(t, 20*time.Second, "video flows", func() bool { return packets() > 10 })

	// The serve context ending does not cut media: Run just returns.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.Run(ctx))
	n0 := packets()
	waitFor(t, 20*time.Second, "video still flows after Run returned", func() bool { return packets() > n0+10 })
	require.False(t, s.Draining())

	for _, c := range []*client{pub, sub, other} {
		leaveOnDrain(t, c)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer dcancel()
	errc := make(chan error, 2)
	go func() { errc <- s.Drain(dctx) }()
	go func() { errc <- s.Drain(dctx) }() // concurrent, idempotent
	for range 2 {
		select {
		case err := <-errc:
			require.NoError(t, err, "everyone left before the deadline")
		case <-dctx.Done():
			t.Fatal("Drain did not return after every participant left")
		}
	}
	require.True(t, s.Draining())
	require.True(t, s.Load().Draining)
	require.Zero(t, s.Load().Participants)
	for _, c := range []*client{pub, sub, other} {
		<-c.done
		require.Len(t, c.eventsOf(EventNodeDraining), 1, "%s is told once", c.id)
	}

	_, err := s.Join(context.Background(), testTenant, "room", "late", JoinOptions{})
	require.ErrorIs(t, err, ErrDraining)
	r, err := s.Room(testTenant, "fresh")
	require.NoError(t, err)
	_, err = r.Join(context.Background(), "late", JoinOptions{})
	require.ErrorIs(t, err, ErrDraining)
	require.NoError(t, s.Drain(dctx), "draining an empty node returns at once")
}

// TestDrainDeadlineClosesTheRest: a participant that never leaves is closed
// when the drain's context ends, and nothing leaks.
func TestDrainDeadlineClosesTheRest(t *testing.T) {
	check := checkNoLeaks(t)
	s, err := New(Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
		AllocationInterval: 100 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond}, testLogger())
	require.NoError(t, err)
	pub := joinClient(t, s, "room", "pub", JoinOptions{}, nil)
	stubborn := joinClient(t, s, "room", "stubborn", JoinOptions{AutoSubscribe: true}, nil)
	polite := joinClient(t, s, "room", "polite", JoinOptions{AutoSubscribe: true}, nil)
	stopAudio := pub.publishAudio(30)
	tid := trackID("pub", "mic")
	waitFor(t, 20*time.Second, "audio flows", func() bool {
		r := stubborn.received(tid)
		if r == nil {
			return false
		}
		n, _ := r.snapshot()
		return n > 10
	})
	leaveOnDrain(t, pub)
	leaveOnDrain(t, polite)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Drain(ctx) }()
	waitFor(t, 20*time.Second, "the stubborn participant is told", func() bool {
		return len(stubborn.eventsOf(EventNodeDraining)) == 1
	})
	waitFor(t, 20*time.Second, "the others left", func() bool { return s.Load().Participants == 1 })
	select {
	case err := <-errc:
		t.Fatalf("Drain returned with a participant still joined: %v", err)
	default:
	}
	_, err = s.Join(context.Background(), testTenant, "room", "late", JoinOptions{})
	require.ErrorIs(t, err, ErrDraining)

	cancel() // the drain timeout
	select {
	case err := <-errc:
		require.Error(t, err)
		require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Drain did not return at the end of its context")
	}
	select {
	case <-stubborn.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the stubborn participant was not closed")
	}
	_, ok := s.LookupRoom(testTenant, "room")
	require.False(t, ok, "the emptied room closed")

	stopAudio()
	for _, c := range []*client{pub, stubborn, polite} {
		c.close()
	}
	require.NoError(t, s.Close())
	check()
}
