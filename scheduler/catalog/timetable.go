package catalog

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Timetable is an immutable snapshot of one version of a convention's
// timetable with the indexes the attendee views need. It is shared between
// requests: callers must not modify what its methods return.
type Timetable struct {
	// Info is the convention's metadata at the time of the snapshot.
	Info Info

	sched    *schedule.Schedule
	byGUID   map[string]int
	order    []int            // session indexes by (start, room position, guid)
	byRoom   map[string][]int // session indexes per room, by start
	roomMax  map[string]time.Duration
	roomPos  map[string]int
	roomIDs  map[string]string // live room ID by room name (roomid.go)
	trackPos map[string]int
	speakers map[string]int // by Speaker.Key
	text     []string       // lower-cased title, subtitle and speaker names
	names    []string       // lower-cased speaker names, "\n"-joined
}

// newTimetable indexes s. s must not be modified afterwards.
func newTimetable(info Info, s *schedule.Schedule) *Timetable {
	s.Convention = info.Convention
	tt := &Timetable{
		Info:     info,
		sched:    s,
		byGUID:   make(map[string]int, len(s.Sessions)),
		byRoom:   map[string][]int{},
		roomMax:  map[string]time.Duration{},
		roomPos:  make(map[string]int, len(s.Rooms)),
		trackPos: make(map[string]int, len(s.Tracks)),
		speakers: make(map[string]int, len(s.Speakers)),
		text:     make([]string, len(s.Sessions)),
		names:    make([]string, len(s.Sessions)),
	}
	for i, r := range s.Rooms {
		tt.roomPos[r.Name] = i
	}
	tt.roomIDs = roomIDs(s)
	for i, tr := range s.Tracks {
		tt.trackPos[tr.Name] = i
	}
	for i := range s.Speakers {
		tt.speakers[s.Speakers[i].Key()] = i
	}
	tt.order = make([]int, len(s.Sessions))
	for i := range s.Sessions {
		ss := &s.Sessions[i]
		tt.byGUID[ss.GUID] = i
		tt.order[i] = i
		names := make([]string, len(ss.Persons))
		for j, p := range ss.Persons {
			names[j] = strings.ToLower(p.Name)
		}
		tt.names[i] = strings.Join(names, "\n")
		tt.text[i] = strings.ToLower(ss.Title+"\n"+ss.Subtitle) + "\n" + tt.names[i]
		if ss.Duration > tt.roomMax[ss.Room] {
			tt.roomMax[ss.Room] = ss.Duration
		}
	}
	sort.SliceStable(tt.order, func(a, b int) bool { return tt.less(tt.order[a], tt.order[b]) })
	for _, i := range tt.order {
		r := s.Sessions[i].Room
		tt.byRoom[r] = append(tt.byRoom[r], i)
	}
	return tt
}

// less orders sessions by start, then room display position, then guid.
func (tt *Timetable) less(a, b int) bool {
	sa, sb := &tt.sched.Sessions[a], &tt.sched.Sessions[b]
	if !sa.Start.Equal(sb.Start) {
		return sa.Start.Before(sb.Start)
	}
	pa, pb := tt.roomPos[sa.Room], tt.roomPos[sb.Room]
	if pa != pb {
		return pa < pb
	}
	return sa.GUID < sb.GUID
}

// Schedule returns the whole timetable, for exports. Read-only.
func (tt *Timetable) Schedule() *schedule.Schedule { return tt.sched }

// Clone returns a copy of the timetable that a commit may modify: the slices
// are copied, the values in them are not shared mutably (sessions' nested
// slices are replaced, never edited in place, by the catalog's edits).
func (tt *Timetable) Clone() *schedule.Schedule {
	s := tt.sched
	return &schedule.Schedule{
		Convention: s.Convention,
		Rooms:      slices.Clone(s.Rooms),
		Tracks:     slices.Clone(s.Tracks),
		Sessions:   slices.Clone(s.Sessions),
		Speakers:   slices.Clone(s.Speakers),
	}
}

// Session returns the session with the given guid.
func (tt *Timetable) Session(guid string) (*schedule.Session, bool) {
	i, ok := tt.byGUID[guid]
	if !ok {
		return nil, false
	}
	return &tt.sched.Sessions[i], true
}

// Room returns the room with the given name.
func (tt *Timetable) Room(name string) (schedule.Room, bool) {
	i, ok := tt.roomPos[name]
	if !ok {
		return schedule.Room{}, false
	}
	return tt.sched.Rooms[i], true
}

// Track returns the track with the given name.
func (tt *Timetable) Track(name string) (schedule.Track, bool) {
	i, ok := tt.trackPos[name]
	if !ok {
		return schedule.Track{}, false
	}
	return tt.sched.Tracks[i], true
}

// Speaker returns the speaker with the given key (schedule.Speaker.Key).
func (tt *Timetable) Speaker(key string) (schedule.Speaker, bool) {
	i, ok := tt.speakers[key]
	if !ok {
		return schedule.Speaker{}, false
	}
	return tt.sched.Speakers[i], true
}

// Query selects sessions. Zero fields do not filter; all given filters must
// match.
type Query struct {
	// Day is a convention day index.
	Day int
	// Room and Track are exact names.
	Room, Track string
	// Speaker matches a speaker key exactly or a speaker name as a
	// case-insensitive substring.
	Speaker string
	// Text matches the title, subtitle or a speaker name as a
	// case-insensitive substring.
	Text string
	// From and To keep sessions that overlap [From, To).
	From, To time.Time
	// GUIDs keeps only these sessions.
	GUIDs []string
}

// Sessions returns the sessions matching q, ordered by start, then room.
func (tt *Timetable) Sessions(q Query) []*schedule.Session {
	text := strings.ToLower(strings.TrimSpace(q.Text))
	spk := strings.TrimSpace(q.Speaker)
	spkLower := strings.ToLower(spk)
	var want map[string]bool
	if q.GUIDs != nil {
		want = make(map[string]bool, len(q.GUIDs))
		for _, g := range q.GUIDs {
			want[g] = true
		}
	}
	idx := tt.order
	if q.Room != "" {
		idx = tt.byRoom[q.Room]
	}
	out := []*schedule.Session{}
	for _, i := range idx {
		s := &tt.sched.Sessions[i]
		switch {
		case q.Day != 0 && s.Day != q.Day,
			q.Track != "" && s.Track != q.Track,
			want != nil && !want[s.GUID],
			!q.From.IsZero() && !s.End().After(q.From),
			!q.To.IsZero() && !s.Start.Before(q.To),
			text != "" && !strings.Contains(tt.text[i], text),
			spk != "" && !tt.hasSpeaker(i, spk, spkLower):
			continue
		}
		out = append(out, s)
	}
	return out
}

func (tt *Timetable) hasSpeaker(i int, key, lower string) bool {
	for _, p := range tt.sched.Sessions[i].Persons {
		if p.Key() == key {
			return true
		}
	}
	return strings.Contains(tt.names[i], lower)
}

// NowNext is what is on in one room at an instant and what comes next.
type NowNext struct {
	// Room is the room.
	Room schedule.Room
	// Now is the session running at the instant (the latest started if
	// several overlap), or nil.
	Now *schedule.Session
	// Next is the first session starting after the instant, or nil.
	Next *schedule.Session
}

// NowNext returns, for every room in display order that has a session
// running at or starting after at, the current and the next session. A room
// name narrows it to that room.
func (tt *Timetable) NowNext(at time.Time, room string) []NowNext {
	out := []NowNext{}
	for _, r := range tt.sched.Rooms {
		if room != "" && r.Name != room {
			continue
		}
		idx := tt.byRoom[r.Name]
		// First session starting after at.
		k := sort.Search(len(idx), func(j int) bool { return tt.sched.Sessions[idx[j]].Start.After(at) })
		nn := NowNext{Room: r}
		if k < len(idx) {
			nn.Next = &tt.sched.Sessions[idx[k]]
		}
		// A running session started at most roomMax before at.
		horizon := at.Add(-tt.roomMax[r.Name])
		for j := k - 1; j >= 0; j-- {
			s := &tt.sched.Sessions[idx[j]]
			if s.Start.Before(horizon) {
				break
			}
			if s.End().After(at) {
				nn.Now = s
				break
			}
		}
		if nn.Now != nil || nn.Next != nil {
			out = append(out, nn)
		}
	}
	return out
}
