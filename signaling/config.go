package signaling

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/bus"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// Defaults for zero Config fields.
const (
	DefaultPath              = "/v1/ws"
	DefaultHardFrameLimit    = 1 << 20
	DefaultSendQueue         = 512
	DefaultReplayBuffer      = 2048
	DefaultRateLimit         = 50
	DefaultRateBurst         = 100
	DefaultJoinTimeout       = 10 * time.Second
	DefaultPingInterval      = 20 * time.Second
	DefaultPongTimeout       = 45 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultRequestTimeout    = 10 * time.Second
	DefaultResumeGrace       = 30 * time.Second
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultMaxRooms          = 16
	DefaultPresenceBatchMin  = 32
	DefaultPresenceWindow    = 100 * time.Millisecond
	DefaultChatWindow        = 100 * time.Millisecond
	DefaultChatBatchMin      = 500
	DefaultMaxPresenceList   = 200
	// DefaultPresenceQuietAbove is the room size from which plain
	// attendees' joins and leaves are no longer announced.
	DefaultPresenceQuietAbove = 1000
)

// Config tunes a Gateway. The zero value is usable: every zero field means
// its default, named in the field's comment.
type Config struct {
	// Path is the WebSocket endpoint. Default "/v1/ws".
	Path string
	// GatewayID names this gateway process in presence records and logs; it
	// must be unique among the gateways sharing a bus. Default: random.
	GatewayID string
	// AllowedOrigins are the browser origins ("https://con.example.org")
	// allowed to open a WebSocket; "*" allows any. Default: none besides
	// the server's own origin; requests without an Origin header (non-browser
	// clients such as the load tester) are always allowed.
	AllowedOrigins []string

	// MaxFrame is the largest client frame processed, in bytes; larger
	// frames up to HardFrameLimit are discarded with an error reply and the
	// connection stays open. Default protocol.MaxFrame (64 KiB).
	MaxFrame int
	// HardFrameLimit is the frame size above which the connection is closed
	// (close code 1009). Default 1 MiB.
	HardFrameLimit int
	// SendQueue is how many frames may wait for a slow connection before it
	// is closed with CodeSlowConsumer. Default 512.
	SendQueue int
	// ReplayBuffer is how many recent frames a session keeps for resume; a
	// session in its grace period that would lose an unsent frame ends.
	// Default 2048 (at least SendQueue).
	ReplayBuffer int
	// RateLimit is the sustained client messages per second allowed per
	// connection (token bucket); excess messages get CodeRateLimited.
	// Default 50.
	RateLimit float64
	// RateBurst is the token bucket size. Default 100.
	RateBurst int

	// JoinTimeout closes a connection that has neither joined a room nor
	// resumed a session this long after opening (CodeTimeout). Default 10s.
	JoinTimeout time.Duration
	// PingInterval is how often the server pings an idle connection.
	// Default 20s.
	PingInterval time.Duration
	// PongTimeout closes a connection from which nothing (not even a pong)
	// arrived for this long. Default 45s.
	PongTimeout time.Duration
	// WriteTimeout bounds one frame write. Default 10s.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the WebSocket upgrade. Default 10s.
	HandshakeTimeout time.Duration
	// RequestTimeout bounds the handling of one client request. Default 10s.
	RequestTimeout time.Duration
	// ResumeGrace is how long a session outlives its dropped connection,
	// keeping its identity, rooms and media, for a resume. Default 30s.
	ResumeGrace time.Duration
	// HeartbeatInterval is how often presence records of local participants
	// are refreshed; a record not refreshed for three intervals (gateway
	// crashed) is swept and announced as left. Default 10s.
	HeartbeatInterval time.Duration
	// MaxRooms is how many rooms one session may join at once. Default 16.
	MaxRooms int
	// PresenceBatchMin is the number of local members from which a room's
	// presence events are coalesced into presence.batch frames (one frame
	// per PresenceWindow instead of one per event). Default 32; -1 never
	// batches.
	PresenceBatchMin int
	// PresenceWindow is how long presence events are collected before a
	// batch is sent. Default 100ms.
	PresenceWindow time.Duration
	// ChatWindow is how long a room with ChatBatchMin or more local
	// members collects chat events before fanning them out together: each
	// connection then gets them in one write, and the walk over the
	// members is made once per window, not once per event. An event waits
	// at most this long; under load this halves the writes (measured:
	// docs/benchmarks.md). Default 100ms; negative fans out every event at
	// once.
	ChatWindow time.Duration
	// ChatBatchMin is the number of local members from which a room's chat
	// is collected over ChatWindow; smaller rooms get every event at once.
	// Default 500.
	ChatBatchMin int
	// MaxPresenceList caps the participants listed in a join reply (the
	// reply's count has the total): moderators and speakers first, then
	// raised hands, then the most recent attendees. Default 200.
	MaxPresenceList int
	// PresenceQuietAbove is the number of participants from which a room
	// stops announcing the presence.join and presence.leave of plain
	// attendees (no raised hand): announcing every join of an audience to
	// the whole audience is O(n²) frames and bytes, which at a few
	// thousand members swamps every connection during a join storm. Join
	// replies still carry the count and the speakers, moderators and
	// raised hands; a quiet attendee who raises a hand or is promoted is
	// announced with presence.join at that moment. Default 1000; -1
	// always announces.
	PresenceQuietAbove int
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.GatewayID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.GatewayID = "gw-" + hex.EncodeToString(b[:])
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = protocol.MaxFrame
	}
	if c.HardFrameLimit == 0 {
		c.HardFrameLimit = max(DefaultHardFrameLimit, c.MaxFrame)
	}
	if c.SendQueue == 0 {
		c.SendQueue = DefaultSendQueue
	}
	if c.ReplayBuffer == 0 {
		c.ReplayBuffer = max(DefaultReplayBuffer, c.SendQueue)
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.RateBurst == 0 {
		c.RateBurst = DefaultRateBurst
	}
	set(&c.JoinTimeout, DefaultJoinTimeout)
	set(&c.PingInterval, DefaultPingInterval)
	set(&c.PongTimeout, DefaultPongTimeout)
	set(&c.WriteTimeout, DefaultWriteTimeout)
	set(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	set(&c.RequestTimeout, DefaultRequestTimeout)
	set(&c.ResumeGrace, DefaultResumeGrace)
	set(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	if c.MaxRooms == 0 {
		c.MaxRooms = DefaultMaxRooms
	}
	if c.PresenceBatchMin == 0 {
		c.PresenceBatchMin = DefaultPresenceBatchMin
	}
	set(&c.PresenceWindow, DefaultPresenceWindow)
	set(&c.ChatWindow, DefaultChatWindow)
	if c.ChatBatchMin == 0 {
		c.ChatBatchMin = DefaultChatBatchMin
	}
	if c.MaxPresenceList == 0 {
		c.MaxPresenceList = DefaultMaxPresenceList
	}
	if c.PresenceQuietAbove == 0 {
		c.PresenceQuietAbove = DefaultPresenceQuietAbove
	}
	return c
}

// Validate reports the first setting that cannot work, saying what to
// change. Zero fields are valid (they mean the default).
func (c Config) Validate() error {
	d := c.withDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case !strings.HasPrefix(d.Path, "/"):
		return bad("Path %q must start with /", d.Path)
	case d.MaxFrame < 1024:
		return bad("MaxFrame %d is below 1024 bytes", d.MaxFrame)
	case d.HardFrameLimit < d.MaxFrame:
		return bad("HardFrameLimit %d is below MaxFrame %d", d.HardFrameLimit, d.MaxFrame)
	case d.SendQueue < 1:
		return bad("SendQueue %d must be positive", d.SendQueue)
	case d.ReplayBuffer < d.SendQueue:
		return bad("ReplayBuffer %d is below SendQueue %d; raise it", d.ReplayBuffer, d.SendQueue)
	case d.RateLimit < 0 || d.RateBurst < 1:
		return bad("RateLimit %v / RateBurst %d must be positive", d.RateLimit, d.RateBurst)
	case d.PongTimeout <= d.PingInterval:
		return bad("PongTimeout %s must exceed PingInterval %s", d.PongTimeout, d.PingInterval)
	case d.MaxRooms < 1:
		return bad("MaxRooms %d must be positive", d.MaxRooms)
	case d.MaxPresenceList < 1:
		return bad("MaxPresenceList %d must be positive", d.MaxPresenceList)
	case d.PresenceWindow < 0 || d.PresenceBatchMin < -1:
		return bad("PresenceWindow and PresenceBatchMin must not be negative (PresenceBatchMin -1 disables batching)")
	}
	for _, o := range d.AllowedOrigins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return bad("AllowedOrigins entry %q must look like https://host[:port] or be *", o)
		}
	}
	for _, r := range []time.Duration{d.JoinTimeout, d.WriteTimeout, d.HandshakeTimeout, d.RequestTimeout, d.ResumeGrace, d.HeartbeatInterval} {
		if r < 0 {
			return bad("durations must not be negative (got %s)", r)
		}
	}
	return nil
}

// Deps are the services a Gateway uses. Bus and Verifier are required.
type Deps struct {
	// Bus fans room events out across gateway processes.
	Bus bus.Bus
	// Verifier checks the token of every WebSocket upgrade.
	Verifier auth.Verifier
	// State keeps presence and moderation state shared by the gateways of
	// one deployment. Nil means a private MemoryState (one process only;
	// use NewRedisState when gateways share a Redis).
	State State
	// Media places participants on SFU nodes. Nil means no media: media.*
	// requests fail with CodeMediaFailed, everything else works.
	Media NodeSelector
	// Draining, when set, is consulted before each join (wire it to
	// httpserver.Server.Draining); Drain also sets the gateway's own flag.
	Draining func() bool
	// Log receives the gateway's logs. Nil discards.
	Log *slog.Logger
}
