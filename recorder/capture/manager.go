package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/vodjob"
	"github.com/plenaryhq/plenary/signaling"
)

// Catalog registers recordings in the library; *library.Library
// implements it.
type Catalog interface {
	AddRecording(ctx context.Context, t tenant.ID, r library.Recording) error
}

var _ Catalog = (*library.Library)(nil)

// ManagerConfig tunes a Manager.
type ManagerConfig struct {
	// RecordingsDir holds recordings as {tenant}/{recording}/; required.
	// The packaging worker reads the same directory.
	RecordingsDir string
	// API builds recorder peer connections. Default NewAPI with a zero
	// SettingEngine.
	API *webrtc.API
	// MaxDuration stops a recording nobody stopped. Default 12h.
	MaxDuration time.Duration
}

// Manager runs the recordings of one recorder process: it starts and stops
// sessions on command, registers them in the library and queues their
// packaging when they end, however they end.
type Manager struct {
	sel signaling.NodeSelector
	q   queue.Queue
	cat Catalog
	cfg ManagerConfig
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*managed // by tenant/recording
	closed   bool
	wg       sync.WaitGroup
}

type managed struct {
	t       tenant.ID
	id      string
	room    string
	session string
	s       *Session
}

// NewManager returns a manager; Run consumes commands. sel places each
// recorder on a media node (the room's node: see Start).
func NewManager(sel signaling.NodeSelector, q queue.Queue, cat Catalog, cfg ManagerConfig, log *slog.Logger) (*Manager, error) {
	if cfg.RecordingsDir == "" {
		return nil, errors.New("capture: RecordingsDir is required")
	}
	if sel == nil {
		return nil, errors.New("capture: a node selector is required")
	}
	if cfg.API == nil {
		api, err := NewAPI(webrtc.SettingEngine{})
		if err != nil {
			return nil, err
		}
		cfg.API = api
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = 12 * time.Hour
	}
	if log == nil {
		log = slog.Default()
	}
	return &Manager{sel: sel, q: q, cat: cat, cfg: cfg, log: log.With("component", "recorder"), sessions: map[string]*managed{}}, nil
}

// Run consumes recording commands until ctx ends, then stops every
// session (each is packaged as usual).
func (m *Manager) Run(ctx context.Context) error {
	err := m.q.Consume(ctx, CommandQueue, m.Handle, queue.ConsumeOptions{Concurrency: 4})
	m.StopAll()
	return err
}

// Start begins recording c.Room. Starting a recording that is already
// running returns it; starting one whose directory already holds a
// recording (a repeat of a command that was carried out) returns an error
// wrapping ErrDuplicate. The recording ID defaults to one derived from
// c.Key (see Command), else to the session (or room) and the start time.
func (m *Manager) Start(ctx context.Context, t tenant.ID, c Command) (*Session, error) {
	if c.Room == "" {
		return nil, queue.Permanent(errors.New("capture: start without a room"))
	}
	if c.Recording == "" {
		c.Recording = defaultRecordingID(c, time.Now())
	}
	if err := recorder.ValidID(c.Recording); err != nil {
		return nil, queue.Permanent(err)
	}
	key := string(t) + "/" + c.Recording
	dir := filepath.Join(m.cfg.RecordingsDir, string(t), c.Recording)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, recorder.ErrClosed
	}
	if cur := m.sessions[key]; cur != nil {
		return cur.s, nil
	}
	if _, err := os.Stat(filepath.Join(dir, recorder.ManifestFile)); err == nil {
		return nil, fmt.Errorf("%w: recording %s exists", ErrDuplicate, c.Recording)
	}
	if m.cat != nil {
		if err := m.cat.AddRecording(ctx, t, library.Recording{ID: c.Recording, Session: c.Session, Room: c.Room,
			Title: c.Title, Track: c.Track, Status: library.StatusRecording}); err != nil {
			return nil, err
		}
	}
	s, err := Start(ctx, m.sel, t, Options{
		Room: c.Room, Dir: dir, API: m.cfg.API, Log: m.log,
		Info: recorder.Info{ID: c.Recording, Session: c.Session, Title: c.Title},
	})
	if err != nil {
		return nil, err
	}
	mg := &managed{t: t, id: c.Recording, room: c.Room, session: c.Session, s: s}
	m.sessions[key] = mg
	m.wg.Add(1)
	go m.watch(mg)
	m.log.Info("recording started", "tenant", t, "room", c.Room, "recording", c.Recording,
		"session", c.Session, "license", c.License)
	return s, nil
}

// watch queues packaging when a session ends, by Stop, by the room closing
// or by reaching MaxDuration.
func (m *Manager) watch(mg *managed) {
	defer m.wg.Done()
	timer := time.NewTimer(m.cfg.MaxDuration)
	defer timer.Stop()
	select {
	case <-mg.s.Done():
	case <-timer.C:
		m.log.Warn("recording reached its maximum duration", "tenant", mg.t, "recording", mg.id)
		_ = mg.s.Stop()
	}
	m.mu.Lock()
	delete(m.sessions, string(mg.t)+"/"+mg.id)
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := vodjob.Enqueue(ctx, m.q, mg.t, mg.id, mg.id+":packaged"); err != nil {
		m.log.Error("packaging not queued", "tenant", mg.t, "recording", mg.id, "err", err)
	}
}

// Stop ends the running recordings c names: the recording c.Recording;
// else every recording of the schedule session c.Session; else every
// recording in c.Room. A session-scoped stop never touches another
// session's recording in the same room (back-to-back sessions overlap: the
// next one starts recording before the previous one stops). Nothing
// running is an error wrapping library.ErrNotFound.
func (m *Manager) Stop(_ context.Context, t tenant.ID, c Command) error {
	m.mu.Lock()
	var found []*managed
	for _, cur := range m.sessions {
		if cur.t != t {
			continue
		}
		var ok bool
		switch {
		case c.Recording != "":
			ok = cur.id == c.Recording
		case c.Session != "":
			ok = cur.session == c.Session
		case c.Room != "":
			ok = cur.room == c.Room
		}
		if ok {
			found = append(found, cur)
		}
	}
	m.mu.Unlock()
	if len(found) == 0 {
		return fmt.Errorf("%w: no running recording %q of session %q in room %q", library.ErrNotFound, c.Recording, c.Session, c.Room)
	}
	var errs []error
	for _, mg := range found {
		errs = append(errs, mg.s.Stop())
	}
	return errors.Join(errs...)
}

// StopAll stops every session, refuses new ones, and waits until their
// packaging is queued. It is idempotent.
func (m *Manager) StopAll() {
	m.mu.Lock()
	m.closed = true
	all := make([]*managed, 0, len(m.sessions))
	for _, mg := range m.sessions {
		all = append(all, mg)
	}
	m.mu.Unlock()
	for _, mg := range all {
		_ = mg.s.Stop()
	}
	m.wg.Wait()
}
