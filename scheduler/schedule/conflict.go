package schedule

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// ConflictKind classifies a scheduling conflict.
type ConflictKind int

const (
	// ConflictUnknown is the zero value.
	ConflictUnknown ConflictKind = iota
	// ConflictRoomDoubleBooked: two sessions overlap in the same room.
	ConflictRoomDoubleBooked
	// ConflictSpeakerDoubleBooked: one speaker is in two overlapping
	// sessions.
	ConflictSpeakerDoubleBooked
	// ConflictOutsideDay: a session starts before its day starts or ends
	// after it ends, or belongs to no day.
	ConflictOutsideDay
)

var conflictKindNames = [...]string{
	ConflictUnknown:             "unknown",
	ConflictRoomDoubleBooked:    "room_double_booked",
	ConflictSpeakerDoubleBooked: "speaker_double_booked",
	ConflictOutsideDay:          "outside_day",
}

// String returns the kind's wire name ("room_double_booked").
func (k ConflictKind) String() string {
	if k < 0 || int(k) >= len(conflictKindNames) {
		return fmt.Sprintf("ConflictKind(%d)", int(k))
	}
	return conflictKindNames[k]
}

// ParseConflictKind parses a wire name as String returns it.
func ParseConflictKind(s string) (ConflictKind, error) {
	for i, n := range conflictKindNames {
		if i > 0 && n == s {
			return ConflictKind(i), nil
		}
	}
	return ConflictUnknown, fmt.Errorf("unknown conflict kind %q", s)
}

// MarshalText encodes the kind as its wire name (JSON strings).
func (k ConflictKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText decodes a wire name.
func (k *ConflictKind) UnmarshalText(b []byte) error {
	v, err := ParseConflictKind(string(b))
	if err != nil {
		return err
	}
	*k = v
	return nil
}

// Conflict is one problem in a timetable. Conflicts are reported, not
// rejected: real schedules have them (39C3's opening starts before its
// day's official start) and organizers fix them in the editor.
type Conflict struct {
	// Kind says what is wrong.
	Kind ConflictKind `json:"kind"`
	// GUIDs are the sessions involved, in start order.
	GUIDs []string `json:"guids"`
	// Message explains the conflict for a human, with local times.
	Message string `json:"message"`
}

// Conflicts finds room double-bookings, speakers in two sessions at once and
// sessions outside their day. Sessions that only touch (one ends when the
// next starts) do not overlap. The result is ordered by kind, then by the
// first session's start.
func (s *Schedule) Conflicts() []Conflict {
	loc, err := s.Convention.Location()
	if err != nil {
		loc = time.UTC
	}
	byStart := make([]*Session, len(s.Sessions))
	for i := range s.Sessions {
		byStart[i] = &s.Sessions[i]
	}
	sort.SliceStable(byStart, func(i, j int) bool { return byStart[i].Start.Before(byStart[j].Start) })

	var out []Conflict
	out = append(out, roomConflicts(byStart, loc)...)
	out = append(out, speakerConflicts(byStart, loc)...)
	out = append(out, dayConflicts(s, byStart, loc)...)
	return out
}

// overlaps finds the overlapping pairs within each group of sessions (a
// room, a speaker): a sweep over start-sorted sessions keeping those still
// running, so the cost is O(n log n + pairs).
func overlaps(groups map[string][]*Session, keys []string, report func(key string, a, b *Session)) {
	for _, k := range keys {
		var active []*Session
		for _, cur := range groups[k] {
			if cur.Duration <= 0 {
				continue // an empty interval overlaps nothing
			}
			kept := active[:0]
			for _, a := range active {
				if a.End().After(cur.Start) {
					kept = append(kept, a)
				}
			}
			active = kept
			for _, a := range active {
				report(k, a, cur)
			}
			active = append(active, cur)
		}
	}
}

// roomConflicts reports each pair of overlapping sessions in one room.
func roomConflicts(byStart []*Session, loc *time.Location) []Conflict {
	groups := make(map[string][]*Session)
	var keys []string
	for _, s := range byStart {
		if _, ok := groups[s.Room]; !ok {
			keys = append(keys, s.Room)
		}
		groups[s.Room] = append(groups[s.Room], s)
	}
	var out []Conflict
	overlaps(groups, keys, func(room string, a, b *Session) {
		out = append(out, Conflict{
			Kind:  ConflictRoomDoubleBooked,
			GUIDs: []string{a.GUID, b.GUID},
			Message: fmt.Sprintf("room %q is double-booked: %s overlaps %s",
				room, span(a, loc), span(b, loc)),
		})
	})
	sortConflicts(out, byStartIndex(byStart))
	return out
}

// speakerConflicts reports each pair of overlapping sessions that share a
// speaker, matched by PersonRef.Key (guid, else id, else name).
func speakerConflicts(byStart []*Session, loc *time.Location) []Conflict {
	groups := make(map[string][]*Session)
	names := make(map[string]string)
	var keys []string
	for _, s := range byStart {
		seen := make(map[string]bool, len(s.Persons))
		for _, p := range s.Persons {
			k := p.Key()
			if seen[k] { // listed twice on one session
				continue
			}
			seen[k] = true
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
				names[k] = p.Name
			}
			groups[k] = append(groups[k], s)
		}
	}
	var out []Conflict
	overlaps(groups, keys, func(k string, a, b *Session) {
		out = append(out, Conflict{
			Kind:  ConflictSpeakerDoubleBooked,
			GUIDs: []string{a.GUID, b.GUID},
			Message: fmt.Sprintf("speaker %q is in two sessions at once: %s in %q and %s in %q",
				names[k], span(a, loc), a.Room, span(b, loc), b.Room),
		})
	})
	sortConflicts(out, byStartIndex(byStart))
	return out
}

// dayConflicts reports sessions outside their day: the day they name, or
// the day holding their start when the name is unknown.
func dayConflicts(s *Schedule, byStart []*Session, loc *time.Location) []Conflict {
	var out []Conflict
	for _, ses := range byStart {
		d, ok := s.Convention.Day(ses.Day)
		if !ok {
			d, ok = s.Convention.DayAt(ses.Start)
		}
		if !ok {
			out = append(out, Conflict{
				Kind:    ConflictOutsideDay,
				GUIDs:   []string{ses.GUID},
				Message: fmt.Sprintf("%s belongs to no convention day", span(ses, loc)),
			})
			continue
		}
		if d.Start.IsZero() || d.End.IsZero() {
			continue
		}
		if ses.Start.Before(d.Start) || ses.End().After(d.End) {
			out = append(out, Conflict{
				Kind:  ConflictOutsideDay,
				GUIDs: []string{ses.GUID},
				Message: fmt.Sprintf("%s is outside day %d (%s - %s)", span(ses, loc), d.Index,
					d.Start.In(loc).Format("2006-01-02 15:04"), d.End.In(loc).Format("2006-01-02 15:04")),
			})
		}
	}
	return out
}

// byStartIndex maps a GUID to its position in start order.
func byStartIndex(byStart []*Session) map[string]int {
	m := make(map[string]int, len(byStart))
	for i, s := range byStart {
		m[s.GUID] = i
	}
	return m
}

// sortConflicts orders pair conflicts by their sessions' start order, so the
// report is stable however maps iterate.
func sortConflicts(cs []Conflict, pos map[string]int) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := cs[i].GUIDs, cs[j].GUIDs
		for k := 0; k < len(a) && k < len(b); k++ {
			if pos[a[k]] != pos[b[k]] {
				return pos[a[k]] < pos[b[k]]
			}
		}
		return strings.Compare(cs[i].Message, cs[j].Message) < 0
	})
}

// span describes a session for messages: `"Title" (2026-01-31 09:30-10:00)`.
func span(s *Session, loc *time.Location) string {
	start, end := s.Start.In(loc), s.End().In(loc)
	endFmt := "15:04"
	if start.YearDay() != end.YearDay() || start.Year() != end.Year() {
		endFmt = "2006-01-02 15:04"
	}
	return fmt.Sprintf("%q (%s-%s)", s.Title, start.Format("2006-01-02 15:04"), end.Format(endFmt))
}
