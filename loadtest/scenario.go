package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario describes one load test: groups of bots, how long they stay,
// what they do, and the service levels the run must meet. Load it with
// LoadScenario or ParseScenario, which apply defaults and validate.
type Scenario struct {
	// Name identifies the scenario in reports. Default: the file name.
	Name string `yaml:"name"`
	// Description is free text shown in the HTML report.
	Description string `yaml:"description"`
	// Duration is how long the run lasts from its start, ramp-ups
	// included; every bot leaves at its end (required).
	Duration Duration `yaml:"duration"`
	// Drain is how long bots keep listening after sends stop, so messages
	// in flight arrive before completeness is counted. Default 5s.
	Drain Duration `yaml:"drain"`
	// JitterBuffer is the playout deadline of viewer bots: a media packet
	// arriving later than this after the stream's best delay is counted
	// as lost (too late to play). Default 200ms.
	JitterBuffer Duration `yaml:"jitter_buffer"`
	// Polls are created in every room by a moderator connection of the
	// first shard. Zero Every means no polls.
	Polls Polls `yaml:"polls"`
	// Groups are the bots (at least one).
	Groups []Group `yaml:"groups"`
	// SLO are the service levels; a miss fails the run (exit code 1).
	SLO SLO `yaml:"slo"`
}

// Polls configures the polls of a run.
type Polls struct {
	// Every is the interval between two polls in a room; the previous poll
	// is closed when the next opens. Zero: no polls.
	Every Duration `yaml:"every"`
	// Options is the number of answers of each poll. Default 4.
	Options int `yaml:"options"`
}

// Group is a set of bots of one kind that share rooms, ramp-up and rates.
type Group struct {
	// Name identifies the group in logs and bot identities (required,
	// unique; letters, digits and '-').
	Name string `yaml:"name"`
	// Kind is chat, viewer or speaker (required).
	Kind BotKind `yaml:"kind"`
	// Count is the number of bots, over all shards (required, >= 1).
	Count int `yaml:"count"`
	// Rooms the bots join, assigned round-robin. Either Rooms or
	// RoomPrefix with RoomCount is required.
	Rooms []string `yaml:"rooms"`
	// RoomPrefix with RoomCount names RoomCount rooms PREFIX01,
	// PREFIX02, … (two digits at least).
	RoomPrefix string `yaml:"room_prefix"`
	// RoomCount: see RoomPrefix.
	RoomCount int `yaml:"room_count"`
	// StartAfter delays the group's first bot from the run's start.
	StartAfter Duration `yaml:"start_after"`
	// RampUp spreads the group's joins evenly over this long ("20,000 in
	// 60s" is count 20000, ramp_up 60s). Zero: all at once.
	RampUp Duration `yaml:"ramp_up"`
	// Role is the role in the bots' tokens. Default attendee; speaker for
	// speaker groups.
	Role string `yaml:"role"`
	// Chat are the chat activity rates of this group, per room.
	Chat Rates `yaml:"chat"`
	// Media configures speaker and viewer bots.
	Media Media `yaml:"media"`
	// DropsPerMin injects connection drops (network failures) into this
	// many of the group's connected bots per minute, exercising resume.
	DropsPerMin float64 `yaml:"drops_per_min"`
}

// Rates are what a group's bots do in each of their rooms, in events per
// second for the whole room (spread over the group's bots in it).
type Rates struct {
	// MessagesPerS are chat messages per second per room.
	MessagesPerS float64 `yaml:"messages_per_s"`
	// MessageBytes is the length of a chat message text. Default 64.
	MessageBytes int `yaml:"message_bytes"`
	// ReactionsPerS are reactions (emoji on a recent message) per second.
	ReactionsPerS float64 `yaml:"reactions_per_s"`
	// QuestionsPerS are Q&A questions asked per second.
	QuestionsPerS float64 `yaml:"questions_per_s"`
	// UpvotesPerS are upvotes of recent questions per second.
	UpvotesPerS float64 `yaml:"upvotes_per_s"`
	// PollVotePct is the share of the group's bots (0–100) that vote in
	// each poll, spread over the ten seconds after it opens.
	PollVotePct float64 `yaml:"poll_vote_pct"`
}

// Media configures the media of speaker and viewer bots.
type Media struct {
	// VideoKbps is a speaker's total video bitrate over all its simulcast
	// layers, kbit/s. Default 1700 (720p ladder: 1250 + 350 + 100).
	VideoKbps int `yaml:"video_kbps"`
	// Simulcast sends three layers (q, h, f at 1/4, 1/2 and full size).
	// Default true.
	Simulcast *bool `yaml:"simulcast"`
	// Width and Height are the full layer's size. Default 1280x720.
	Width int `yaml:"width"`
	// Height: see Width.
	Height int `yaml:"height"`
	// FPS is the frame rate. Default 30.
	FPS int `yaml:"fps"`
	// AudioKbps is a speaker's Opus bitrate; 0 means the default 32, and
	// Audio false sends no audio.
	AudioKbps int `yaml:"audio_kbps"`
	// Audio sends an Opus track. Default true.
	Audio *bool `yaml:"audio"`
	// MaxLayer caps the simulcast layer a viewer asks for: low, medium or
	// high. Default high.
	MaxLayer string `yaml:"max_layer"`
}

// SLO are the service levels of a run. An absent field is not checked,
// except ErrorsMax which defaults to 0: a run with errors fails unless the
// scenario says how many it tolerates.
type SLO struct {
	// ConnectP99MS bounds the 99th percentile of WebSocket connect time.
	ConnectP99MS *float64 `yaml:"connect_p99_ms"`
	// JoinP99MS bounds the 99th percentile of join time (request to ack).
	JoinP99MS *float64 `yaml:"join_p99_ms"`
	// ChatDeliveryP99MS bounds the 99th percentile of chat delivery
	// latency (send to receipt by another bot).
	ChatDeliveryP99MS *float64 `yaml:"chat_delivery_p99_ms"`
	// ChatMissingPct bounds the share of expected room events never
	// delivered, percent.
	ChatMissingPct *float64 `yaml:"chat_missing_pct"`
	// FirstFrameP99MS bounds the 99th percentile of time from join to the
	// first complete video frame at a viewer.
	FirstFrameP99MS *float64 `yaml:"first_frame_p99_ms"`
	// MediaLatencyP99MS bounds the 99th percentile of media end-to-end
	// latency (speaker send to viewer receipt).
	MediaLatencyP99MS *float64 `yaml:"media_latency_p99_ms"`
	// MediaLossPct bounds the share of media packets lost or too late to
	// play, percent.
	MediaLossPct *float64 `yaml:"media_loss_pct"`
	// JoinedMinPct is the least share of bots that must have joined,
	// percent.
	JoinedMinPct *float64 `yaml:"joined_min_pct"`
	// ErrorsMax is how many errors (all codes) the run tolerates.
	// Default 0.
	ErrorsMax *float64 `yaml:"errors_max"`
}

// Defaults of a scenario.
const (
	DefaultDrain        = 5 * time.Second
	DefaultJitterBuffer = 200 * time.Millisecond
	DefaultMessageBytes = 64
	DefaultPollOptions  = 4
	DefaultVideoKbps    = 1700
	DefaultAudioKbps    = 32
	DefaultWidth        = 1280
	DefaultHeight       = 720
	DefaultFPS          = 30
)

// LoadScenario reads, defaults and validates the scenario in path.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	s, err := ParseScenario(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if s.Name == "" {
		base := path[strings.LastIndexAny(path, `/\`)+1:]
		s.Name = strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
	}
	return s, nil
}

// ParseScenario decodes a scenario strictly (unknown keys are errors, so a
// typo cannot silently disable a setting), applies defaults and validates.
func ParseScenario(b []byte) (*Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: the file is empty", ErrInvalidScenario)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidScenario, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document; keep one scenario per file", ErrInvalidScenario)
	}
	s.applyDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// applyDefaults fills zero fields with their defaults.
func (s *Scenario) applyDefaults() {
	if s.Drain == 0 {
		s.Drain = Duration(DefaultDrain)
	}
	if s.JitterBuffer == 0 {
		s.JitterBuffer = Duration(DefaultJitterBuffer)
	}
	if s.Polls.Options == 0 {
		s.Polls.Options = DefaultPollOptions
	}
	if s.SLO.ErrorsMax == nil {
		zero := 0.0
		s.SLO.ErrorsMax = &zero
	}
	for i := range s.Groups {
		g := &s.Groups[i]
		if g.Role == "" {
			g.Role = "attendee"
			if g.Kind == KindSpeaker {
				g.Role = "speaker"
			}
		}
		if g.Chat.MessageBytes == 0 {
			g.Chat.MessageBytes = DefaultMessageBytes
		}
		if g.Kind == KindSpeaker {
			m := &g.Media
			def := func(v *int, d int) {
				if *v == 0 {
					*v = d
				}
			}
			def(&m.VideoKbps, DefaultVideoKbps)
			def(&m.AudioKbps, DefaultAudioKbps)
			def(&m.Width, DefaultWidth)
			def(&m.Height, DefaultHeight)
			def(&m.FPS, DefaultFPS)
			if m.Simulcast == nil {
				m.Simulcast = ptr(true)
			}
			if m.Audio == nil {
				m.Audio = ptr(true)
			}
		}
		if g.Kind == KindViewer && g.Media.MaxLayer == "" {
			g.Media.MaxLayer = "high"
		}
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// RoomNames returns the rooms of g: Rooms, or the rooms named by
// RoomPrefix and RoomCount.
func (g *Group) RoomNames() []string {
	if len(g.Rooms) > 0 {
		return g.Rooms
	}
	width := max(2, len(fmt.Sprint(g.RoomCount)))
	out := make([]string, g.RoomCount)
	for i := range out {
		out[i] = fmt.Sprintf("%s%0*d", g.RoomPrefix, width, i+1)
	}
	return out
}

// Bots is the total number of bots of the scenario over all shards.
func (s *Scenario) Bots() int {
	n := 0
	for _, g := range s.Groups {
		n += g.Count
	}
	return n
}

// Rooms returns every room of the scenario, in order of first mention.
func (s *Scenario) Rooms() []string {
	var out []string
	seen := map[string]bool{}
	for i := range s.Groups {
		for _, r := range s.Groups[i].RoomNames() {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	return out
}

// BotKind is the kind of a bot group.
type BotKind uint8

// Bot kinds.
const (
	// KindUnknown is the zero value, never valid in a scenario.
	KindUnknown BotKind = iota
	// KindChat bots use the WebSocket only.
	KindChat
	// KindViewer bots also receive media.
	KindViewer
	// KindSpeaker bots publish media.
	KindSpeaker
)

// String names the kind as in scenarios.
func (k BotKind) String() string {
	switch k {
	case KindChat:
		return "chat"
	case KindViewer:
		return "viewer"
	case KindSpeaker:
		return "speaker"
	}
	return "unknown"
}

// ParseBotKind parses chat, viewer or speaker.
func ParseBotKind(s string) (BotKind, error) {
	for _, k := range []BotKind{KindChat, KindViewer, KindSpeaker} {
		if strings.EqualFold(strings.TrimSpace(s), k.String()) {
			return k, nil
		}
	}
	return KindUnknown, fmt.Errorf("%w: bot kind %q: use chat, viewer or speaker", ErrInvalidScenario, s)
}

// MarshalText encodes the kind's name.
func (k BotKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a kind name with ParseBotKind.
func (k *BotKind) UnmarshalText(b []byte) error {
	v, err := ParseBotKind(string(b))
	*k = v
	return err
}

// Duration is a time.Duration written as in Go ("90s", "5m", "1h30m").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText encodes d like time.Duration.String.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a Go duration; a bare 0 is accepted too.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: write it like 90s, 5m or 1h30m", s)
	}
	*d = Duration(v)
	return nil
}
