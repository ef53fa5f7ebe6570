package catalog

import (
	"fmt"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// MaxSlugLen is the longest convention slug.
const MaxSlugLen = 64

// ValidSlug checks a convention slug: 1–64 characters of ASCII letters,
// digits and "-_.", starting with a letter or digit. Slugs appear in URLs,
// bus payloads and idempotency keys unescaped.
func ValidSlug(slug string) error {
	if slug == "" || len(slug) > MaxSlugLen {
		return fmt.Errorf("%w: slug must be 1-%d characters", ErrInvalid, MaxSlugLen)
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("-_.", rune(c))) {
			return fmt.Errorf("%w: slug %q: character %d must be a letter, a digit or one of -_. (not first)", ErrInvalid, slug, i+1)
		}
	}
	return nil
}

// validate checks the invariants every stored timetable keeps, naming the
// first violation: unique non-empty names and guids, sessions in known rooms
// and tracks, sane durations, a loadable time zone.
func validate(s *schedule.Schedule) error {
	if err := ValidSlug(s.Convention.Slug); err != nil {
		return err
	}
	if strings.TrimSpace(s.Convention.Title) == "" {
		return fmt.Errorf("%w: convention title is empty", ErrInvalid)
	}
	if _, err := s.Convention.Location(); err != nil {
		return fmt.Errorf("%w: time zone %q: %w", ErrInvalid, s.Convention.TimeZone, err)
	}
	if c := s.Convention.DayChange; c.Hour < 0 || c.Hour > 23 || c.Minute < 0 || c.Minute > 59 {
		return fmt.Errorf("%w: day change %02d:%02d is not a clock time", ErrInvalid, c.Hour, c.Minute)
	}
	rooms := make(map[string]bool, len(s.Rooms))
	for i, r := range s.Rooms {
		if strings.TrimSpace(r.Name) == "" {
			return fmt.Errorf("%w: room %d has no name", ErrInvalid, i+1)
		}
		if rooms[r.Name] {
			return fmt.Errorf("%w: room %q appears twice", ErrInvalid, r.Name)
		}
		rooms[r.Name] = true
	}
	tracks := make(map[string]bool, len(s.Tracks))
	for i, tr := range s.Tracks {
		if strings.TrimSpace(tr.Name) == "" {
			return fmt.Errorf("%w: track %d has no name", ErrInvalid, i+1)
		}
		if tracks[tr.Name] {
			return fmt.Errorf("%w: track %q appears twice", ErrInvalid, tr.Name)
		}
		tracks[tr.Name] = true
	}
	speakers := make(map[string]bool, len(s.Speakers))
	for i := range s.Speakers {
		sp := &s.Speakers[i]
		if strings.TrimSpace(sp.Name) == "" {
			return fmt.Errorf("%w: speaker %d has no name", ErrInvalid, i+1)
		}
		if speakers[sp.Key()] {
			return fmt.Errorf("%w: speaker %q appears twice", ErrInvalid, sp.Key())
		}
		speakers[sp.Key()] = true
	}
	guids := make(map[string]bool, len(s.Sessions))
	for i := range s.Sessions {
		if err := validateSession(&s.Sessions[i], rooms, tracks, guids); err != nil {
			return err
		}
	}
	return nil
}

func validateSession(ss *schedule.Session, rooms, tracks, guids map[string]bool) error {
	switch {
	case strings.TrimSpace(ss.GUID) == "":
		return fmt.Errorf("%w: session %q has no guid", ErrInvalid, ss.Title)
	case guids[ss.GUID]:
		return fmt.Errorf("%w: session guid %q appears twice", ErrInvalid, ss.GUID)
	case strings.TrimSpace(ss.Title) == "":
		return fmt.Errorf("%w: session %s has no title", ErrInvalid, ss.GUID)
	case ss.Start.IsZero():
		return fmt.Errorf("%w: session %s has no start", ErrInvalid, ss.GUID)
	case ss.Duration < 0 || ss.Duration > schedule.DefaultMaxSessionDuration:
		return fmt.Errorf("%w: session %s: duration %v is outside 0..%v", ErrInvalid, ss.GUID, ss.Duration, schedule.DefaultMaxSessionDuration)
	case ss.Duration%time.Second != 0:
		return fmt.Errorf("%w: session %s: duration %v is not whole seconds", ErrInvalid, ss.GUID, ss.Duration)
	case !rooms[ss.Room]:
		return fmt.Errorf("%w: session %s is in room %q, which does not exist", ErrInvalid, ss.GUID, ss.Room)
	case ss.Track != "" && !tracks[ss.Track]:
		return fmt.Errorf("%w: session %s is in track %q, which does not exist", ErrInvalid, ss.GUID, ss.Track)
	}
	guids[ss.GUID] = true
	return nil
}
