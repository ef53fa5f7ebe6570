package sfu

import (
	"sync"
	"time"
)

// keyframeThrottle merges keyframe requests for one publisher layer: at most
// one request per window reaches the publisher, however many subscribers
// (thousands on a stage) ask. A request inside the window is remembered and
// sent when the window ends, unless a keyframe arrived meanwhile and
// satisfied it (RFC 4585 §6.3.1 leaves the PLI rate to the sender's policy;
// RFC 5104 §4.3.1.2 asks FIR senders not to repeat within an RTT).
type keyframeThrottle struct {
	window time.Duration
	send   func()

	mu      sync.Mutex
	last    time.Time
	pending bool
	timer   *time.Timer
	closed  bool
}

func newKeyframeThrottle(window time.Duration, send func()) *keyframeThrottle {
	return &keyframeThrottle{window: window, send: send}
}

// request asks for a keyframe. It never blocks on the network.
func (k *keyframeThrottle) request() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	now := time.Now()
	if k.last.IsZero() || now.Sub(k.last) >= k.window {
		k.last = now
		k.pending = false
		k.mu.Unlock()
		k.send()
		return
	}
	if !k.pending {
		k.pending = true
		wait := k.window - now.Sub(k.last)
		if k.timer == nil {
			k.timer = time.AfterFunc(wait, k.fire)
		} else {
			k.timer.Reset(wait)
		}
	}
	k.mu.Unlock()
}

// keyframeReceived satisfies any merged request waiting for the window.
func (k *keyframeThrottle) keyframeReceived() {
	k.mu.Lock()
	k.pending = false
	k.mu.Unlock()
}

// fire sends the merged request when the window has ended. A run can be
// stale: a timer that fired late, after a request had already sent a PLI
// and re-armed it, runs once more with the new request pending. Such a run
// only re-arms the timer for what is left of the window, or it would send
// a second PLI within it.
func (k *keyframeThrottle) fire() {
	k.mu.Lock()
	if k.closed || !k.pending {
		k.mu.Unlock()
		return
	}
	now := time.Now()
	if wait := k.window - now.Sub(k.last); wait > 0 {
		k.timer.Reset(wait)
		k.mu.Unlock()
		return
	}
	k.pending = false
	k.last = now
	k.mu.Unlock()
	k.send()
}

// close stops the timer; later requests are ignored.
func (k *keyframeThrottle) close() {
	k.mu.Lock()
	k.closed = true
	if k.timer != nil {
		k.timer.Stop()
	}
	k.mu.Unlock()
}
