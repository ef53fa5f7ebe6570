package sfunode_test

import (
	"testing"
	"time"

	"github.com/plenaryhq/plenary/sfu"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/mediatest"
	"github.com/plenaryhq/plenary/signaling/sfunode"
	st "github.com/plenaryhq/plenary/signaling/signalingtest"
)

// TestConformance runs the media-interface suite on the in-process
// transport; signaling/sfurpc runs the same suite over the bus.
func TestConformance(t *testing.T) {
	mediatest.Run(t, func(t *testing.T) signaling.MediaNode {
		s, err := sfu.New(sfu.Config{BindIP: "127.0.0.1", IncludeLoopback: true, TCPPort: -1,
			AllocationInterval: 100 * time.Millisecond, SpeakerInterval: 100 * time.Millisecond}, st.Log())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return sfunode.New("local", s)
	})
}
