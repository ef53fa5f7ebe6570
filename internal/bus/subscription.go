package bus

import "sync"

// subscription is the Subscription both backends hand out: a bounded buffer
// with the drop-oldest policy described in the package documentation.
type subscription struct {
	ch   Channel
	msgs chan []byte
	m    *backendMetrics
	// detach removes the subscription from its bus; Close calls it once.
	detach func(*subscription)

	once sync.Once
	// mu serialises senders with each other and with closing msgs, so a send
	// never races a close and "drop oldest, then send" is atomic.
	mu     sync.Mutex
	closed bool
}

// newSubscription returns an open subscription to ch with a buffer of size
// messages; detach is called once, from Close.
func newSubscription(ch Channel, size int, m *backendMetrics, detach func(*subscription)) *subscription {
	m.subscriptions.Inc()
	return &subscription{ch: ch, msgs: make(chan []byte, size), m: m, detach: detach}
}

// C implements Subscription.
func (s *subscription) C() <-chan []byte { return s.msgs }

// Close implements Subscription: it detaches from the bus (which may
// unsubscribe from the backend) and closes C. Messages already buffered can
// still be read before C reports closed.
func (s *subscription) Close() error {
	s.once.Do(func() {
		s.detach(s)
		s.terminate()
	})
	return nil
}

// deliver places msg in the buffer without ever blocking. When the buffer is
// full it drops the oldest buffered message first (see package docs).
func (s *subscription) deliver(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	select {
	case s.msgs <- msg:
		s.m.delivered.Inc()
		return
	default:
	}
	// Full: drop the oldest. The consumer may have emptied a slot meanwhile,
	// in which case nothing is dropped.
	select {
	case <-s.msgs:
		s.m.dropped.Inc()
	default:
	}
	// Only senders holding mu add to the buffer, so there is room now.
	select {
	case s.msgs <- msg:
		s.m.delivered.Inc()
	default:
		s.m.dropped.Inc()
	}
}

// terminate closes C once, without detaching; the bus calls it for every
// subscription when it closes.
func (s *subscription) terminate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.msgs)
	s.m.subscriptions.Dec()
}
