package relay

import "errors"

var (
	// ErrClosed is returned after Node.Close or Link.Close.
	ErrClosed = errors.New("relay: closed")
	// ErrInvalidConfig is returned by New for an unusable Config.
	ErrInvalidConfig = errors.New("relay: invalid config")
	// ErrNotOnBus is returned when a control message reached no
	// subscriber of the node's channel (on a bus that counts, see
	// bus.Reacher): that node's process is gone, or reconnecting.
	ErrNotOnBus = errors.New("relay: node not on the bus")
	// ErrBadMessage is logged for control messages that cannot be decoded.
	ErrBadMessage = errors.New("relay: bad control message")
)
