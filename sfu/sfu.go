package sfu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	plog "github.com/plenaryhq/plenary/internal/logging"
	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu/internal/hdrhist"
)

// roomKey keys rooms by tenant first: two tenants that both have a room
// called "main" get two unrelated rooms.
type roomKey struct {
	tenant tenant.ID
	room   RoomID
}

// SFU is one media node: it owns the node's UDP/TCP ports, the shared
// fan-out workers and every room on the node. Create it with New and stop it
// with Close.
type SFU struct {
	cfg       Config
	log       *slog.Logger
	lf        logging.LoggerFactory
	transport *nodeTransport
	media     *webrtc.MediaEngine
	settings  webrtc.SettingEngine
	pubAPI    *webrtc.API
	pool      *fanoutPool
	stats     nodeStats
	latency   *hdrhist.Histogram // nil unless cfg.MeasureLatency

	mu     sync.Mutex
	rooms  map[roomKey]*Room
	closed bool

	// members counts joined participants for Drain and Load.
	members  *memberCount
	draining atomic.Bool

	loadMu      sync.Mutex
	loadAt      time.Time
	loadPackets uint64
	loadRate    float64

	closeOnce sync.Once
	closeErr  error
}

// New validates cfg, binds the node's UDP port (and ICE-TCP port unless
// disabled) and returns a running SFU. A nil log discards logs.
func New(cfg Config, log *slog.Logger) (*SFU, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "sfu")
	lf := &plog.PionFactory{Log: log}
	me, err := newMediaEngine()
	if err != nil {
		return nil, err
	}
	tr, err := openTransport(cfg, lf)
	if err != nil {
		return nil, err
	}
	se, err := tr.settingEngine(cfg, lf)
	if err != nil {
		_ = tr.close()
		return nil, err
	}
	pubAPI, err := newPublisherAPI(me, se, lf)
	if err != nil {
		_ = tr.close()
		return nil, err
	}
	workers := cfg.FanoutWorkers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s := &SFU{
		cfg:       cfg,
		log:       log,
		lf:        lf,
		transport: tr,
		media:     me,
		settings:  se,
		pubAPI:    pubAPI,
		pool:      newFanoutPool(workers),
		rooms:     make(map[roomKey]*Room),
		members:   newMemberCount(),
		loadAt:    time.Now(),
	}
	if cfg.MeasureLatency {
		s.latency = &hdrhist.Histogram{}
	}
	log.Info("sfu listening", "udp", tr.udpAddr(), "tcp", tr.tcpAddr())
	return s, nil
}

// Run blocks until ctx ends and returns nil. It lets cmd/plenary treat the
// SFU like every other role in its errgroup. It does not tear peers down:
// the owner drains the node first (Drain, from the HTTP server's drain hook,
// bounded by the drain timeout) and then calls Close; see drain.go for the
// order.
func (s *SFU) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// UDPAddr returns the bound ICE UDP address (the port is random when
// Config.UDPPort was 0).
func (s *SFU) UDPAddr() net.Addr { return s.transport.udpAddr() }

// TCPAddr returns the bound ICE-TCP address, or nil when ICE-TCP is off.
func (s *SFU) TCPAddr() net.Addr { return s.transport.tcpAddr() }

// Room returns the room (t, id), creating it if needed. Rooms close by
// themselves when their last participant leaves; a *Room obtained earlier may
// then return ErrClosed from Join, and the caller asks Room again (or uses
// SFU.Join, which does).
func (s *SFU) Room(t tenant.ID, id RoomID) (*Room, error) {
	if !t.Valid() {
		return nil, fmt.Errorf("%w: tenant %q", tenant.ErrInvalid, t)
	}
	if !validID(string(id)) {
		return nil, fmt.Errorf("%w: room %q", ErrInvalidID, id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	k := roomKey{t, id}
	r, ok := s.rooms[k]
	if !ok {
		r = newRoom(s, k)
		s.rooms[k] = r
		metricRooms.Inc()
	}
	return r, nil
}

// LookupRoom returns an existing room without creating it.
func (s *SFU) LookupRoom(t tenant.ID, id RoomID) (*Room, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[roomKey{t, id}]
	return r, ok
}

// Join joins participant p to room (t, id), creating the room if needed. It
// is Room(t, id).Join with a retry for a room that closed in between.
func (s *SFU) Join(ctx context.Context, t tenant.ID, id RoomID, p ParticipantID, opts JoinOptions) (*Participant, error) {
	for range 3 {
		r, err := s.Room(t, id)
		if err != nil {
			return nil, err
		}
		part, err := r.Join(ctx, p, opts)
		if !errors.Is(err, errRoomClosing) {
			return part, err
		}
	}
	return nil, ErrClosed
}

// removeRoom forgets r if it is still the room registered under its key.
func (s *SFU) removeRoom(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms[r.key] == r {
		delete(s.rooms, r.key)
		metricRooms.Dec()
	}
}

// Close closes every room (every participant leaves), the fan-out workers
// and the node's sockets, at once: call Drain first for a graceful shutdown.
// It is idempotent.
func (s *SFU) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		rooms := make([]*Room, 0, len(s.rooms))
		for _, r := range s.rooms {
			rooms = append(rooms, r)
		}
		s.mu.Unlock()
		for _, r := range rooms {
			_ = r.Close()
		}
		s.pool.close()
		s.closeErr = s.transport.close()
		if s.draining.Load() {
			metricDraining.Dec()
		}
	})
	return s.closeErr
}
