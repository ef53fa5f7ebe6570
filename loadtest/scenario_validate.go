package loadtest

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
)

// Patterns of names in a scenario.
var (
	groupNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	// roomNameRE is the protocol's room pattern (docs/protocol/envelope.json).
	roomNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Limits of scenario values.
const (
	maxGroupBots  = 1_000_000
	maxRoomCount  = 10_000
	minMessage    = 32 // room for the send-time marker
	maxMessage    = 500
	minPollEvery  = 5 * time.Second
	maxPollOption = 10
)

// Validate reports every setting that cannot work, each saying what to
// change. ParseScenario calls it after applying defaults.
func (s *Scenario) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidScenario}, args...)...))
	}
	if s.Duration <= 0 {
		bad("duration is required: how long the run lasts, ramp-ups included (e.g. duration: 5m)")
	}
	if s.Drain < 0 {
		bad("drain %s: must not be negative (default 5s)", s.Drain)
	}
	if jb := s.JitterBuffer.D(); jb < 10*time.Millisecond || jb > 10*time.Second {
		bad("jitter_buffer %s: use 10ms to 10s (default 200ms)", s.JitterBuffer)
	}
	if s.Polls.Every != 0 && s.Polls.Every.D() < minPollEvery {
		bad("polls.every %s: at least %s, or 0 for no polls", s.Polls.Every, minPollEvery)
	}
	if s.Polls.Options < 2 || s.Polls.Options > maxPollOption {
		bad("polls.options %d: a poll has 2 to %d options", s.Polls.Options, maxPollOption)
	}
	if len(s.Groups) == 0 {
		bad("groups: at least one group of bots is required")
	}
	names := map[string]bool{}
	for i := range s.Groups {
		g := &s.Groups[i]
		at := fmt.Sprintf("groups[%d]", i)
		if g.Name != "" {
			at += fmt.Sprintf(" (%s)", g.Name)
		}
		for _, msg := range g.problems(s) {
			bad("%s: %s", at, msg)
		}
		if names[g.Name] && g.Name != "" {
			bad("%s: name %q is used by another group; group names must be unique", at, g.Name)
		}
		names[g.Name] = true
	}
	errs = append(errs, s.SLO.problems()...)
	return errors.Join(errs...)
}

// problems lists what is wrong with g, without the group prefix.
func (g *Group) problems(s *Scenario) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if !groupNameRE.MatchString(g.Name) {
		add("name %q: required, 1-32 lower-case letters, digits and '-'", g.Name)
	}
	if g.Kind == KindUnknown {
		add("kind is required: chat, viewer or speaker")
	}
	if g.Count < 1 || g.Count > maxGroupBots {
		add("count %d: set the number of bots, 1 to %d", g.Count, maxGroupBots)
	}
	switch {
	case len(g.Rooms) > 0 && (g.RoomPrefix != "" || g.RoomCount != 0):
		add("give either rooms or room_prefix with room_count, not both")
	case len(g.Rooms) == 0 && g.RoomCount == 0:
		add("rooms: list the rooms the bots join, or set room_prefix and room_count")
	case len(g.Rooms) == 0 && (g.RoomCount < 1 || g.RoomCount > maxRoomCount):
		add("room_count %d: 1 to %d", g.RoomCount, maxRoomCount)
	}
	for _, r := range g.RoomNames() {
		if !roomNameRE.MatchString(r) {
			add("room %q: 1-64 letters, digits and '._-', starting with a letter or digit", r)
			break
		}
	}
	if g.StartAfter < 0 || g.RampUp < 0 {
		add("start_after and ramp_up must not be negative")
	}
	if s.Duration > 0 && g.StartAfter+g.RampUp >= s.Duration {
		add("start_after %s + ramp_up %s reach the end of the run (duration %s): shorten them or lengthen duration",
			g.StartAfter, g.RampUp, s.Duration)
	}
	role, err := auth.ParseRole(g.Role)
	switch {
	case err != nil:
		add("role %q: use attendee, speaker, moderator or organizer", g.Role)
	case g.Kind == KindSpeaker && !role.AtLeast(auth.RoleSpeaker):
		add("role %s cannot publish: speaker groups need role speaker or above", role)
	}
	out = append(out, g.Chat.problems()...)
	out = append(out, g.Media.problems(g.Kind)...)
	if g.DropsPerMin < 0 {
		add("drops_per_min %v must not be negative", g.DropsPerMin)
	}
	return out
}

// problems lists what is wrong with r.
func (r *Rates) problems() []string {
	var out []string
	for _, f := range []struct {
		name string
		v    float64
	}{{"messages_per_s", r.MessagesPerS}, {"reactions_per_s", r.ReactionsPerS}, {"questions_per_s", r.QuestionsPerS}, {"upvotes_per_s", r.UpvotesPerS}} {
		if f.v < 0 {
			out = append(out, fmt.Sprintf("chat.%s %v must not be negative", f.name, f.v))
		}
	}
	if r.PollVotePct < 0 || r.PollVotePct > 100 {
		out = append(out, fmt.Sprintf("chat.poll_vote_pct %v: a percentage, 0 to 100", r.PollVotePct))
	}
	if r.MessageBytes < minMessage || r.MessageBytes > maxMessage {
		out = append(out, fmt.Sprintf("chat.message_bytes %d: %d to %d (the text carries the send time)", r.MessageBytes, minMessage, maxMessage))
	}
	return out
}

// problems lists what is wrong with m for a group of kind k.
func (m *Media) problems(k BotKind) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	speakerSet := m.VideoKbps != 0 || m.Simulcast != nil || m.Width != 0 || m.Height != 0 || m.FPS != 0 || m.AudioKbps != 0 || m.Audio != nil
	switch k {
	case KindChat:
		if speakerSet || m.MaxLayer != "" {
			add("media settings apply to viewer and speaker groups only; remove media or change kind")
		}
	case KindViewer:
		if speakerSet {
			add("media: a viewer group only takes max_layer; bitrate, size, fps and audio belong to speaker groups")
		}
		switch m.MaxLayer {
		case "low", "medium", "high":
		default:
			add("media.max_layer %q: low, medium or high", m.MaxLayer)
		}
	case KindSpeaker:
		if m.MaxLayer != "" {
			add("media.max_layer applies to viewer groups only")
		}
		if m.VideoKbps < 50 || m.VideoKbps > 20_000 {
			add("media.video_kbps %d: 50 to 20000", m.VideoKbps)
		}
		if m.AudioKbps < 6 || m.AudioKbps > 510 {
			add("media.audio_kbps %d: Opus runs at 6 to 510", m.AudioKbps)
		}
		if m.FPS < 1 || m.FPS > 60 {
			add("media.fps %d: 1 to 60", m.FPS)
		}
		if m.Width < 64 || m.Width > 3840 || m.Height < 64 || m.Height > 2160 {
			add("media.width x height %dx%d: 64x64 to 3840x2160", m.Width, m.Height)
		}
	}
	return out
}

// problems lists what is wrong with the SLO targets.
func (o *SLO) problems() []error {
	var errs []error
	for _, t := range o.targets() {
		if *t.ref == nil {
			continue
		}
		v := **t.ref
		if v < 0 || (t.pct && v > 100) {
			limit := "a non-negative number"
			if t.pct {
				limit = "a percentage, 0 to 100"
			}
			errs = append(errs, fmt.Errorf("%w: slo.%s %v: %s", ErrInvalidScenario, t.name, v, limit))
		}
	}
	return errs
}
