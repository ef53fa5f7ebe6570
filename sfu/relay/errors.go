package relay

import "errors"

var (
	// ErrClosed is returned after Node.Close or Link.Close.
	ErrClosed = errors.New("relay: closed")
	// ErrInvalidConfig is returned by New for an unusable Config.
	ErrInvalidConfig = errors.New("relay: invalid config")
	// ErrBadMessage is logged for control messages that cannot be decoded.
	ErrBadMessage = errors.New("relay: bad control message")
)
