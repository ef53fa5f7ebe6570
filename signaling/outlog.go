package signaling

// frame is one server→client text frame of a session. Room events are
// shared by every local member of the room (wire: encoded and framed once,
// see wireFrame); replies and per-participant events carry their own bytes,
// framed by the writer.
//
// Frames are handled by pointer: a session's ring holds 8 bytes per frame,
// and the frame of a room event is one allocation shared by every member.
type frame = *frameData

// frameData is what a frame points to.
type frameData struct {
	wire []byte // a complete WebSocket frame, shared; nil when b is set
	b    []byte
	// stamp is the server timestamp (Unix ns) of a chat event, for the
	// delivery latency histogram (delivery.go); 0 for other frames.
	stamp int64
}

// outLog is a session's outbound stream: every text frame the server sends
// the session, numbered 1, 2, 3, … in order. It is both the send queue of the
// current connection and the replay buffer for resume.
//
// Resume relies on TCP's in-order delivery: a client that has received n
// frames has received exactly frames 1…n, so it resumes by telling the
// count and the server continues with frame n+1. Frames therefore need no
// per-client sequence field, which is what lets room events be one shared
// frame for all connections.
//
// The ring grows by doubling up to capacity, so an idle session costs a few
// hundred bytes, not the full replay buffer. Callers hold the session lock.
type outLog struct {
	buf   []frame // ring; frame n lives at (n-1) % len(buf)
	limit int     // maximum len(buf)
	start uint64  // frames ≤ start are gone (overwritten or trimmed)
	end   uint64  // frames appended so far
	sent  uint64  // frames handed to the writer (start ≤ sent ≤ end, except after trimming)
}

// initialRing is the ring size a session starts with.
const initialRing = 8

// newOutLog returns an empty log that retains at most limit frames.
func newOutLog(limit int) *outLog {
	return &outLog{limit: max(limit, 1)}
}

// queued is the number of frames appended but not yet handed to a writer.
func (l *outLog) queued() int { return int(l.end - l.sent) }

// retained is the number of frames still held.
func (l *outLog) retained() int { return int(l.end - l.start) }

// append adds f as the next frame. It returns false, appending nothing, when
// the log is full of frames not yet handed to a writer: the consumer is too
// slow and the session cannot be kept gap-free.
func (l *outLog) append(f frame) bool {
	if l.retained() == len(l.buf) {
		if len(l.buf) < l.limit {
			l.grow()
		} else if l.start >= l.sent {
			return false // the oldest frame was never sent
		} else {
			l.start++ // drop the oldest, already sent frame
		}
	}
	l.end++
	l.buf[l.slot(l.end)] = f
	return true
}

// grow doubles the ring (up to limit), keeping frame positions.
func (l *outLog) grow() { l.resize(min(max(2*len(l.buf), initialRing), l.limit)) }

// slot is the ring index of frame n.
func (l *outLog) slot(n uint64) int { return int((n - 1) % uint64(len(l.buf))) }

// take hands up to max unsent frames to the writer, appending them to dst.
func (l *outLog) take(dst []frame, maxFrames int) []frame {
	for l.sent < l.end && maxFrames > 0 {
		l.sent++
		if l.sent > l.start {
			dst = append(dst, l.buf[l.slot(l.sent)])
		}
		maxFrames--
	}
	return dst
}

// rewind makes frame n+1 the next one handed to a writer, for a client that
// has received n frames. It fails when frames after n are no longer held or
// n lies in the future.
func (l *outLog) rewind(n uint64) bool {
	if n < l.start || n > l.end {
		return false
	}
	l.sent = n
	return true
}

// trim releases frames up to n, which the client confirmed it received,
// and shrinks a ring that a burst grew, so an idle session is small again.
func (l *outLog) trim(n uint64) {
	n = min(n, l.sent)
	for l.start < n {
		l.start++
		l.buf[l.slot(l.start)] = nil
	}
	if len(l.buf) > initialRing && l.retained() <= len(l.buf)/8 {
		l.resize(max(initialRing, 2*l.retained()))
	}
}

// resize moves the retained frames to a ring of n slots (n ≥ retained).
func (l *outLog) resize(n int) {
	nb := make([]frame, n)
	for i := l.start + 1; i <= l.end; i++ {
		nb[(i-1)%uint64(n)] = l.buf[l.slot(i)]
	}
	l.buf = nb
}

// wireFrame frames payload as one unmasked, uncompressed server→client text
// frame (RFC 6455 §5.2): the bytes every connection of a room writes as
// they are, like websocket.PreparedMessage but writable together with other
// frames in one writev (conn.writeFrames).
func wireFrame(payload []byte) []byte {
	b := make([]byte, 0, maxFrameHeader+len(payload))
	return append(appendFrameHeader(b, len(payload)), payload...)
}

// maxFrameHeader is the longest server frame header (no mask).
const maxFrameHeader = 10

// appendFrameHeader appends the header of a final text frame of n bytes.
func appendFrameHeader(b []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		return append(b, finText, byte(n))
	case n <= 0xffff:
		return append(b, finText, 126, byte(n>>8), byte(n))
	default:
		return append(b, finText, 127, byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40),
			byte(uint64(n)>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// frameHeaderLen is the length of the header of a frame built by wireFrame.
func frameHeaderLen(wire []byte) int {
	if len(wire) < 2 {
		return len(wire)
	}
	switch wire[1] & 0x7f {
	case 126:
		return min(4, len(wire))
	case 127:
		return min(maxFrameHeader, len(wire))
	}
	return 2
}
