package recorder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ManifestFile is the manifest's name inside a recording directory.
const ManifestFile = "manifest.json"

// ManifestVersion is the manifest format written by this package. Readers
// accept versions up to it.
const ManifestVersion = 1

// Manifest describes a recording directory. It is rewritten atomically
// (temporary file, fsync, rename) whenever a track is added, starts, stops,
// the active speaker changes and when the recording stops, so after a crash
// it describes every file in the directory, only without end times.
type Manifest struct {
	// Version is ManifestVersion.
	Version int `json:"version"`
	// ID is the recording ID, also the directory name by convention.
	ID string `json:"id"`
	// Tenant, Room and Session (the schedule session guid) say what was
	// recorded; Title is a human label. All optional for the packager.
	Tenant  string `json:"tenant,omitempty"`
	Room    string `json:"room,omitempty"`
	Session string `json:"session,omitempty"`
	Title   string `json:"title,omitempty"`
	// StartedAt is when the recording was created; StoppedAt when it was
	// closed, absent if the recorder died first.
	StartedAt time.Time  `json:"started_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	// UpdatedAt is when the manifest was last written.
	UpdatedAt time.Time `json:"updated_at"`
	// Tracks are the recorded tracks in the order they were added.
	Tracks []Track `json:"tracks"`
	// Speakers are active-speaker changes in time order.
	Speakers []SpeakerChange `json:"speakers,omitempty"`
}

// Track describes one recorded track and its file.
type Track struct {
	// ID is the track's ID within the recording ("t01", "t02", ...).
	ID string `json:"id"`
	// File is the media file's name, relative to the recording directory.
	File string `json:"file"`
	// Kind is audio or video.
	Kind TrackKind `json:"kind"`
	// Codec is the RTP MIME type, e.g. "video/VP8", "audio/opus".
	Codec string `json:"codec"`
	// ClockRate is the RTP clock (90000 video, 48000 Opus).
	ClockRate uint32 `json:"clock_rate"`
	// Channels is the audio channel count.
	Channels int `json:"channels,omitempty"`
	// Participant published the track; SourceID and StreamID are its SFU
	// track ID and MediaStream ID (the stream groups a camera and its mic).
	Participant string `json:"participant,omitempty"`
	SourceID    string `json:"source_id,omitempty"`
	StreamID    string `json:"stream_id,omitempty"`
	// AddedAt is when the track was added to the recording.
	AddedAt time.Time `json:"added_at"`
	// FirstMediaAt is the wall-clock time the first frame was written: the
	// moment timestamp 0 of the file plays at. Absent while nothing was
	// written (no keyframe yet), in which case the file may not exist.
	FirstMediaAt *time.Time `json:"first_media_at,omitempty"`
	// StoppedAt is when the track's writer was closed.
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	// Width and Height of the video when the codec header says (VP8).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// Frames, Bytes and PacketsLost are totals, filled in at StoppedAt.
	Frames      uint64 `json:"frames,omitempty"`
	Bytes       uint64 `json:"bytes,omitempty"`
	PacketsLost uint64 `json:"packets_lost,omitempty"`
}

// SpeakerChange records that Participant became the active speaker At.
type SpeakerChange struct {
	At          time.Time `json:"at"`
	Participant string    `json:"participant"`
}

// ReadManifest reads and checks dir/manifest.json. It rejects track files
// that would resolve outside dir, so a tampered manifest cannot make the
// packager read arbitrary files.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile)) //nolint:gosec // dir is chosen by the caller
	if err != nil {
		return m, fmt.Errorf("%w: %w", ErrInvalidManifest, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %w", ErrInvalidManifest, dir, err)
	}
	if m.Version < 1 || m.Version > ManifestVersion {
		return m, fmt.Errorf("%w: version %d, this build reads 1-%d", ErrInvalidManifest, m.Version, ManifestVersion)
	}
	for _, t := range m.Tracks {
		if !localFileName(t.File) {
			return m, fmt.Errorf("%w: track %s file %q is not a plain file name", ErrInvalidManifest, t.ID, t.File)
		}
	}
	return m, nil
}

// localFileName accepts a plain file name without separators or dot-dot.
func localFileName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`) && filepath.IsLocal(name)
}

// writeManifest replaces dir/manifest.json atomically and durably.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("recorder: encode manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".manifest-*.tmp")
	if err != nil {
		return fmt.Errorf("recorder: write manifest: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := firstErr(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("recorder: write manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestFile)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("recorder: write manifest: %w", err)
	}
	// Make the rename itself durable; a failure here is not worth failing
	// the recording over (not every filesystem supports it).
	if d, err := os.Open(dir); err == nil { //nolint:gosec // dir is chosen by the caller
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
