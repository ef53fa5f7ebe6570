package recorder

import "errors"

// Sentinel errors of the recorder. Underlying I/O errors are wrapped with %w.
var (
	// ErrClosed means a write or AddTrack came after Close.
	ErrClosed = errors.New("recorder: closed")
	// ErrUnsupportedCodec means a track's codec cannot be recorded.
	ErrUnsupportedCodec = errors.New("recorder: unsupported codec")
	// ErrInvalidManifest means manifest.json is missing, unreadable or
	// names files outside its directory.
	ErrInvalidManifest = errors.New("recorder: invalid manifest")
	// ErrInvalidID means a recording ID is not safe to use as a file name.
	ErrInvalidID = errors.New("recorder: invalid recording id")
)
