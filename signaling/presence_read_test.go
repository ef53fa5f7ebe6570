package signaling

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/internal/auth"
)

// TestPresenceReaderCoalesces: callers arriving while a read runs share
// the next read, so a burst of joins costs two reads, not one each; and
// every caller gets a read that started after it asked.
func TestPresenceReaderCoalesces(t *testing.T) {
	var reads atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	p := &presenceReader{fetch: func(context.Context) ([]Record, error) {
		n := reads.Add(1)
		select {
		case started <- struct{}{}:
		default:
		}
		if n == 1 {
			<-release // hold the first read while the burst arrives
		}
		return []Record{{Participant: Participant{ID: "p"}}}, nil
	}}
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { _, err := p.read(ctx); first <- err }()
	<-started
	const burst = 50
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if recs, err := p.read(ctx); err != nil || len(recs) != 1 {
				bad.Add(1)
			}
		}()
	}
	// Poll until every caller of the burst is waiting on the shared read.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		waiting := p.next != nil && p.next.waiters == burst
		p.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	require.NoError(t, <-first)
	wg.Wait()
	require.Zero(t, bad.Load(), "every caller gets the records")
	require.Equal(t, int32(2), reads.Load(), "the burst shares one read, not the one that was running")
}

// TestPresenceReaderCallerContext: an abandoned wait returns the caller's
// context error without stopping the read for others.
func TestPresenceReaderCallerContext(t *testing.T) {
	release := make(chan struct{})
	p := &presenceReader{fetch: func(context.Context) ([]Record, error) {
		<-release
		return nil, nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.read(ctx)
	require.ErrorIs(t, err, context.Canceled)
	close(release)
	_, err = p.read(context.Background())
	require.NoError(t, err)
}

// TestAnnounces: above PresenceQuietAbove only speakers and up and raised
// hands are announced; -1 always announces.
func TestAnnounces(t *testing.T) {
	attendee := Participant{Role: auth.RoleAttendee}
	hand := Participant{Role: auth.RoleAttendee, Hand: 1}
	speaker := Participant{Role: auth.RoleSpeaker}
	tests := []struct {
		name  string
		quiet int
		n     int
		p     Participant
		want  bool
	}{
		{"small room attendee", 1000, 999, attendee, true},
		{"large room attendee", 1000, 1000, attendee, false},
		{"large room hand", 1000, 5000, hand, true},
		{"large room speaker", 1000, 5000, speaker, true},
		{"disabled", -1, 100000, attendee, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := &Gateway{cfg: Config{PresenceQuietAbove: tc.quiet}}
			require.Equal(t, tc.want, g.announces(tc.n, tc.p))
		})
	}
}
