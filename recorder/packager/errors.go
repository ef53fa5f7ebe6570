package packager

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the packager.
var (
	// ErrNoMedia means the recording holds no playable track; retrying
	// cannot help.
	ErrNoMedia = errors.New("packager: recording has no playable media")
	// ErrFFmpeg means ffmpeg or ffprobe failed; the *FFmpegError that wraps
	// it carries the exit status and the tail of ffmpeg's stderr.
	ErrFFmpeg = errors.New("packager: ffmpeg failed")
	// ErrOutputExists means the output directory is not empty and
	// Options.Overwrite is false.
	ErrOutputExists = errors.New("packager: output directory not empty")
)

// FFmpegError is a failed ffmpeg (or ffprobe) run.
type FFmpegError struct {
	// Step names what was being done: "encode", "poster", "probe".
	Step string
	// Err is the process error (exit status, or the context error when
	// cancelled).
	Err error
	// Stderr is the last lines ffmpeg wrote to stderr.
	Stderr string
}

// Error includes the stderr tail, so a dead-lettered job shows why ffmpeg
// failed.
func (e *FFmpegError) Error() string {
	msg := fmt.Sprintf("packager: ffmpeg %s: %v", e.Step, e.Err)
	if tail := strings.TrimSpace(e.Stderr); tail != "" {
		msg += ": " + tail
	}
	return msg
}

// Unwrap returns ErrFFmpeg and the process error, so errors.Is works for
// both ErrFFmpeg and context.Canceled.
func (e *FFmpegError) Unwrap() []error { return []error{ErrFFmpeg, e.Err} }
