package recorder

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
)

// Info says what a recording is of.
type Info struct {
	// ID names the recording: 1-128 letters, digits and "-_." (not
	// starting with "."); required. By convention it is also the name of the
	// recording's directory.
	ID string
	// Tenant owns the recording.
	Tenant tenant.ID
	// Room is the SFU room recorded; Session the schedule session's guid;
	// Title a label for humans. All optional.
	Room    string
	Session string
	Title   string
}

// Options tune a Recording. The zero value is fine.
type Options struct {
	// Now is the clock; default time.Now. Tests pass a fake one to place
	// tracks on the timeline.
	Now func() time.Time
	// Log receives the recording's warnings. Default slog.Default().
	Log *slog.Logger
}

// Recording is one recording directory being written. Its methods are safe
// for concurrent use.
type Recording struct {
	dir string
	now func() time.Time
	log *slog.Logger

	mu        sync.Mutex
	manifest  Manifest
	writers   []*trackWriter
	closed    bool
	closeOnce sync.Once
	closeErr  error
	// flushErr is the last manifest write error, kept so that a transient
	// failure surfaces at Close.
	flushErr error
}

// ValidID reports whether id is usable as a recording ID.
func ValidID(id string) error {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("%w: %q: use letters, digits and -_.", ErrInvalidID, id)
		}
	}
	return nil
}

// Create makes dir (which must not already hold a manifest) and writes the
// initial manifest.
func Create(dir string, info Info, opts Options) (*Recording, error) {
	if err := ValidID(info.ID); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err == nil {
		return nil, fmt.Errorf("recorder: %s already holds a recording: %w", dir, os.ErrExist)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("recorder: %w", err)
	}
	now := opts.Now().UTC()
	r := &Recording{
		dir: dir,
		now: opts.Now,
		log: opts.Log.With("recording", info.ID, "tenant", info.Tenant),
		manifest: Manifest{
			Version:   ManifestVersion,
			ID:        info.ID,
			Tenant:    string(info.Tenant),
			Room:      info.Room,
			Session:   info.Session,
			Title:     info.Title,
			StartedAt: now,
			UpdatedAt: now,
			Tracks:    []Track{},
		},
	}
	if err := writeManifest(dir, &r.manifest); err != nil {
		return nil, err
	}
	recordingsActive.Inc()
	return r, nil
}

// Dir is the recording directory.
func (r *Recording) Dir() string { return r.dir }

// Manifest returns a copy of the current manifest.
func (r *Recording) Manifest() Manifest {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.manifest
	m.Tracks = append([]Track(nil), m.Tracks...)
	m.Speakers = append([]SpeakerChange(nil), m.Speakers...)
	return m
}

// AddTrack adds a track and returns the Writer to feed its packets into.
// Speakers joining mid-session simply add tracks; a speaker who leaves has
// their writer closed, and one who comes back gets a new track.
func (r *Recording) AddTrack(spec TrackSpec) (Writer, error) {
	if spec.Kind == KindAudio && spec.Channels <= 0 {
		spec.Channels = 2
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	idx := len(r.manifest.Tracks)
	id := fmt.Sprintf("t%02d", idx+1)
	ext := ".ivf"
	if spec.Kind == KindAudio {
		ext = ".ogg"
	}
	tr := Track{
		ID:          id,
		File:        id + "-" + spec.Kind.String() + ext,
		Kind:        spec.Kind,
		Codec:       spec.Codec,
		Participant: spec.Participant,
		SourceID:    spec.SourceID,
		StreamID:    spec.StreamID,
		AddedAt:     r.now().UTC(),
	}
	switch spec.Kind {
	case KindAudio:
		tr.ClockRate, tr.Channels = 48000, spec.Channels
	case KindVideo:
		tr.ClockRate = videoTimebase
	}
	w, err := newTrackWriter(r, idx, spec, tr)
	if err != nil {
		return nil, err
	}
	r.manifest.Tracks = append(r.manifest.Tracks, tr)
	r.writers = append(r.writers, w)
	r.flushLocked()
	tracksActive.WithLabelValues(spec.Kind.String()).Inc()
	return w, nil
}

// SetActiveSpeaker records that participant became the active speaker now.
// Repeating the current speaker is a no-op.
func (r *Recording) SetActiveSpeaker(participant string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if n := len(r.manifest.Speakers); n > 0 && r.manifest.Speakers[n-1].Participant == participant {
		return
	}
	r.manifest.Speakers = append(r.manifest.Speakers, SpeakerChange{At: r.now().UTC(), Participant: participant})
	r.flushLocked()
}

// Close closes every track writer still open, stamps the stop time and
// writes the final manifest. It is idempotent.
func (r *Recording) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		writers := append([]*trackWriter(nil), r.writers...)
		r.mu.Unlock()
		var errs []error
		for _, w := range writers {
			if err := w.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		r.mu.Lock()
		r.closed = true
		now := r.now().UTC()
		r.manifest.StoppedAt = &now
		r.flushErr = nil
		r.flushLocked()
		errs = append(errs, r.flushErr)
		r.mu.Unlock()
		recordingsActive.Dec()
		r.closeErr = errors.Join(errs...)
	})
	return r.closeErr
}

func (r *Recording) trackStarted(idx, width, height int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now().UTC()
	t := &r.manifest.Tracks[idx]
	t.FirstMediaAt = &now
	t.Width, t.Height = width, height
	r.flushLocked()
}

func (r *Recording) trackResized(idx, width, height int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := &r.manifest.Tracks[idx]
	if width > t.Width || height > t.Height {
		// The manifest keeps the largest size seen: the packager scales
		// every frame into its cell anyway.
		t.Width, t.Height = max(width, t.Width), max(height, t.Height)
		r.flushLocked()
	}
}

func (r *Recording) trackStopped(idx int, frames, bytes, lost uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now().UTC()
	t := &r.manifest.Tracks[idx]
	t.StoppedAt = &now
	t.Frames, t.Bytes, t.PacketsLost = frames, bytes, lost
	r.flushErr = nil
	r.flushLocked()
	return r.flushErr
}

// flushLocked rewrites the manifest; failures are logged and kept, since a
// stale manifest must not stop media from being written.
func (r *Recording) flushLocked() {
	r.manifest.UpdatedAt = r.now().UTC()
	if err := writeManifest(r.dir, &r.manifest); err != nil {
		r.flushErr = err
		r.log.Warn("manifest not written", "err", err)
	}
}
