package capture

import "errors"

// Sentinel errors of the capture manager.
var (
	// ErrDuplicate means a start command repeats one already carried out:
	// its recording exists (running elsewhere, or finished). Handle
	// acknowledges such commands without effect.
	ErrDuplicate = errors.New("capture: recording already started")
	// ErrUnsupported means a command of an unknown kind or of a newer
	// payload version than this recorder reads.
	ErrUnsupported = errors.New("capture: unsupported command")
)
