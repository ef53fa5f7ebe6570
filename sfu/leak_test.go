package sfu

import (
	"net"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var goroutineHeader = regexp.MustCompile(`^goroutine (\d+) `)

// goroutineIDs returns the stacks of all goroutines keyed by ID.
func goroutineIDs() map[string]string {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if m := goroutineHeader.FindStringSubmatch(g); m != nil {
			out[m[1]] = g
		}
	}
	return out
}

// checkNoLeaks snapshots the running goroutines and returns a function that
// fails the test if goroutines started since are still running after a
// grace period (Pion's shutdown is asynchronous; we poll, never sleep-assert).
func checkNoLeaks(t *testing.T) func() {
	t.Helper()
	before := goroutineIDs()
	return func() {
		t.Helper()
		var leaked []string
		deadline := time.Now().Add(15 * time.Second)
		for {
			leaked = leaked[:0]
			for id, stack := range goroutineIDs() {
				if _, ok := before[id]; ok || strings.Contains(stack, "checkNoLeaks") {
					continue
				}
				leaked = append(leaked, stack)
			}
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(leaked) > 0 {
			t.Fatalf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	}
}

// TestLifecycleFreesGoroutinesAndPorts: unpublishing, leaving and closing
// the room and the SFU free every goroutine and the node's port.
func TestLifecycleFreesGoroutinesAndPorts(t *testing.T) {
	check := checkNoLeaks(t)
	s, err := New(Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: 0,
		AllocationInterval: 100 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond}, testLogger())
	require.NoError(t, err)
	udpAddr := s.UDPAddr().String()
	tcpAddr := s.TCPAddr().String()

	// Clients are closed explicitly below, before the leak check; their
	// t.Cleanup calls are then no-ops.
	pub := joinClient(t, s, "room", "alice", JoinOptions{}, nil)
	sub := joinClient(t, s, "room", "bob", JoinOptions{AutoSubscribe: true}, nil)
	vp := pub.publishVideo([]layerSpec{{"", 1, 500}}, 30)
	stopAudio := pub.publishAudio(30)
	tid := trackID("alice", "cam")
	waitFor(t, 10*time.Second, "bob receives alice's video", func() bool {
		r := sub.received(tid)
		if r == nil {
			return false
		}
		n, _ := r.snapshot()
		return n > 10
	})
	room, ok := s.LookupRoom(testTenant, "room")
	require.True(t, ok)
	require.Len(t, room.Tracks(), 2)

	// Unpublish the video: the client stops the sender and renegotiates.
	vp.close()
	require.NoError(t, pub.pub.RemoveTrack(vp.sender))
	pub.negotiatePublisher()
	waitFor(t, 10*time.Second, "video unpublished", func() bool { return len(room.Tracks()) == 1 })
	waitFor(t, 5*time.Second, "bob told", func() bool { return len(sub.eventsOf(EventTrackUnpublished)) == 1 })
	waitFor(t, 5*time.Second, "bob's down-track removed", func() bool { return len(sub.p.Subscriptions()) == 1 })

	// Leave: alice's audio disappears from the room and from bob.
	stopAudio()
	pub.close()
	waitFor(t, 5*time.Second, "alice's audio unpublished", func() bool { return len(room.Tracks()) == 0 })
	require.Equal(t, []ParticipantID{"bob"}, room.Participants())

	// Room close makes bob leave; his event stream ends.
	require.NoError(t, room.Close())
	select {
	case <-sub.done:
	case <-time.After(5 * time.Second):
		t.Fatal("bob's event stream not closed by room close")
	}
	sub.close()
	_, ok = s.LookupRoom(testTenant, "room")
	require.False(t, ok)

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	check()

	// Every port is free again.
	pc, err := net.ListenPacket("udp4", udpAddr)
	require.NoError(t, err)
	require.NoError(t, pc.Close())
	ln, err := net.Listen("tcp4", tcpAddr)
	require.NoError(t, err)
	require.NoError(t, ln.Close())
}
