package recorder

import (
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Writer is the sink one received track is fed into, as small as Pion's
// media.Writer so that either can stand in for the other.
//
// WriteRTP does not keep p after it returns (packets that must wait for a
// missing predecessor are copied), so callers may reuse their buffers.
// Calls to WriteRTP come from one goroutine per track; Close may be called
// from any goroutine, any number of times.
type Writer interface {
	// WriteRTP adds one RTP packet of the track.
	WriteRTP(p *rtp.Packet) error
	// Close flushes buffered packets, finishes the file and records the
	// track's end in the manifest. It is idempotent.
	Close() error
}

// Writer and Pion's media.Writer are interchangeable.
var (
	_ media.Writer = Writer(nil)
	_ Writer       = media.Writer(nil)
	_ Writer       = (*trackWriter)(nil)
)
