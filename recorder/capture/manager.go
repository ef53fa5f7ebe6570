package capture

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/plenaryhq/plenary/internal/queue"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/recorder"
	"github.com/plenaryhq/plenary/recorder/library"
	"github.com/plenaryhq/plenary/recorder/vodjob"
	"github.com/plenaryhq/plenary/sfu"
)

// CommandQueue is the queue the scheduler's timed actions and moderators'
// start/stop commands are published to.
const CommandQueue = "recorder.commands"

// Command kinds (queue.Job.Kind).
const (
	KindStart = "start"
	KindStop  = "stop"
)

// Command is the payload of a recording command job.
type Command struct {
	// Room is the SFU room; required for start, and for a stop that does
	// not name the recording.
	Room string `json:"room,omitempty"`
	// Recording is the recording ID. Default at start: Session (or Room)
	// plus the start time, e.g. "guid-20250301T100000Z".
	Recording string `json:"recording,omitempty"`
	// Session, Title and Track describe the schedule session recorded.
	Session string `json:"session,omitempty"`
	Title   string `json:"title,omitempty"`
	Track   string `json:"track,omitempty"`
}

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
	node Node
	q    queue.Queue
	cat  Catalog
	cfg  ManagerConfig
	log  *slog.Logger

	mu       sync.Mutex
	sessions map[string]*managed // by tenant/recording
	closed   bool
	wg       sync.WaitGroup
}

type managed struct {
	t    tenant.ID
	id   string
	room string
	s    *Session
}

// NewManager returns a manager; Run consumes commands.
func NewManager(node Node, q queue.Queue, cat Catalog, cfg ManagerConfig, log *slog.Logger) (*Manager, error) {
	if cfg.RecordingsDir == "" {
		return nil, errors.New("capture: RecordingsDir is required")
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
	return &Manager{node: node, q: q, cat: cat, cfg: cfg, log: log.With("component", "recorder"), sessions: map[string]*managed{}}, nil
}

// Publish queues a command for whichever recorder consumes CommandQueue.
func Publish(ctx context.Context, q queue.Queue, t tenant.ID, kind string, c Command) (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("capture: %w", err)
	}
	return q.Publish(ctx, queue.Job{Queue: CommandQueue, Tenant: t, Kind: kind, Payload: b})
}

// Run consumes recording commands until ctx ends, then stops every
// session (each is packaged as usual).
func (m *Manager) Run(ctx context.Context) error {
	err := m.q.Consume(ctx, CommandQueue, m.Handle, queue.ConsumeOptions{Concurrency: 4})
	m.StopAll()
	return err
}

// Handle executes one command job.
func (m *Manager) Handle(ctx context.Context, job queue.Job) error {
	var c Command
	if err := json.Unmarshal(job.Payload, &c); err != nil {
		return queue.Permanent(fmt.Errorf("capture: command %s: %w", job.ID, err))
	}
	switch job.Kind {
	case KindStart:
		_, err := m.Start(ctx, job.Tenant, c)
		return err
	case KindStop:
		err := m.Stop(ctx, job.Tenant, c)
		if errors.Is(err, library.ErrNotFound) {
			return queue.Permanent(err) // nothing to stop: do not retry
		}
		return err
	}
	return queue.Permanent(fmt.Errorf("capture: unknown command kind %q", job.Kind))
}

// Start begins recording c.Room. Starting a recording that is already
// running returns it.
func (m *Manager) Start(ctx context.Context, t tenant.ID, c Command) (*Session, error) {
	if c.Room == "" {
		return nil, queue.Permanent(errors.New("capture: start without a room"))
	}
	if c.Recording == "" {
		base := c.Session
		if base == "" {
			base = c.Room
		}
		c.Recording = base + "-" + time.Now().UTC().Format("20060102T150405Z")
	}
	if err := recorder.ValidID(c.Recording); err != nil {
		return nil, queue.Permanent(err)
	}
	key := string(t) + "/" + c.Recording
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, recorder.ErrClosed
	}
	if cur := m.sessions[key]; cur != nil {
		return cur.s, nil
	}
	if m.cat != nil {
		if err := m.cat.AddRecording(ctx, t, library.Recording{ID: c.Recording, Session: c.Session, Room: c.Room,
			Title: c.Title, Track: c.Track, Status: library.StatusRecording}); err != nil {
			return nil, err
		}
	}
	s, err := Start(ctx, m.node, t, Options{
		Room: sfu.RoomID(c.Room), Dir: filepath.Join(m.cfg.RecordingsDir, string(t), c.Recording), API: m.cfg.API, Log: m.log,
		Info: recorder.Info{ID: c.Recording, Session: c.Session, Title: c.Title},
	})
	if err != nil {
		return nil, err
	}
	mg := &managed{t: t, id: c.Recording, room: c.Room, s: s}
	m.sessions[key] = mg
	m.wg.Add(1)
	go m.watch(mg)
	m.log.Info("recording started", "tenant", t, "room", c.Room, "recording", c.Recording)
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

// Stop ends the recording c.Recording, or the one running in c.Room.
func (m *Manager) Stop(_ context.Context, t tenant.ID, c Command) error {
	m.mu.Lock()
	var mg *managed
	for _, cur := range m.sessions {
		if cur.t == t && ((c.Recording != "" && cur.id == c.Recording) || (c.Recording == "" && c.Room != "" && cur.room == c.Room)) {
			mg = cur
			break
		}
	}
	m.mu.Unlock()
	if mg == nil {
		return fmt.Errorf("%w: no running recording %q in room %q", library.ErrNotFound, c.Recording, c.Room)
	}
	return mg.s.Stop()
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
