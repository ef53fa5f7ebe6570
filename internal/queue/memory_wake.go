package queue

import (
	"sync"
	"time"
)

// wakeHub wakes the consumers of a queue in this process when a job becomes
// due, so that they need not wait for the next poll. A job due later arms one
// timer per queue, at the earliest known due time; jobs due after that are
// found by polling, which is also how jobs published by other processes are
// found.
type wakeHub struct {
	mu     sync.Mutex
	subs   map[string]map[chan struct{}]struct{}
	timers map[string]*time.Timer
	at     map[string]time.Time
	closed bool
}

func newWakeHub() *wakeHub {
	return &wakeHub{
		subs:   map[string]map[chan struct{}]struct{}{},
		timers: map[string]*time.Timer{},
		at:     map[string]time.Time{},
	}
}

// subscribe returns a channel that receives a value when queue may have new
// due jobs, and a function that unsubscribes.
func (w *wakeHub) subscribe(queue string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.subs[queue] == nil {
		w.subs[queue] = map[chan struct{}]struct{}{}
	}
	w.subs[queue][ch] = struct{}{}
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.subs[queue], ch)
	}
}

// notify says that a job of queue is due at the given time.
func (w *wakeHub) notify(queue string, due time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	d := time.Until(due)
	if d <= 0 {
		w.signalLocked(queue)
		return
	}
	if at, ok := w.at[queue]; ok && !due.Before(at) {
		return
	}
	if t := w.timers[queue]; t != nil {
		t.Stop()
	}
	w.at[queue] = due
	w.timers[queue] = time.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.at[queue].Equal(due) {
			delete(w.at, queue)
			delete(w.timers, queue)
		}
		w.signalLocked(queue)
	})
}

// signalLocked wakes every subscriber of queue without blocking; a pending
// wake-up is enough.
func (w *wakeHub) signalLocked(queue string) {
	for ch := range w.subs[queue] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// close stops the timers.
func (w *wakeHub) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for q, t := range w.timers {
		t.Stop()
		delete(w.timers, q)
		delete(w.at, q)
	}
}
