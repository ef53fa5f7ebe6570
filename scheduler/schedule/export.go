package schedule

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Export writes s in format f. For iCalendar, DTSTAMP is the current time;
// use ExportICal to choose it.
func Export(w io.Writer, s *Schedule, f Format) error {
	switch f {
	case FormatFrabXML:
		return ExportFrabXML(w, s)
	case FormatC3VOCJSON:
		return ExportC3VOCJSON(w, s)
	case FormatICal:
		return ExportICal(w, s, time.Now())
	default:
		return fmt.Errorf("%w: cannot export %s", ErrUnknownFormat, f)
	}
}

var errNilSchedule = fmt.Errorf("%w: nil schedule", ErrInvalid)

// Patterns of the schedule.xml XSD (implicitly anchored there) and the
// c3voc JSON schema. The exporters only write a value where the schema
// allows it, so a schedule imported from a real file, quirks and all,
// exports to a valid one.
var (
	reAcronym   = regexp.MustCompile(`^[a-z0-9_-]{4,}$`)
	reEventSlug = regexp.MustCompile(`^[a-z0-9_]{4,}-[a-z0-9\-_]{4,}$`)
	reJSONSlug  = regexp.MustCompile(`^[a-z0-9_-]+[a-z0-9]$`)
	reTrackSlug = regexp.MustCompile(`^[a-z][a-z0-9-]+$`)
	reCode      = regexp.MustCompile(`^[0-9A-Z]{6}$`)
	reHexColor  = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	reInteger   = regexp.MustCompile(`^[+-]?[0-9]{1,18}$`)
)

// exportPlan is the timetable laid out for the frab and c3voc exporters:
// days in order, each with its rooms in schedule order and their sessions
// by start, plus the identifiers each session is written with.
type exportPlan struct {
	s     *Schedule
	loc   *time.Location
	days  []planDay
	ids   map[string]int64  // guid -> numeric id (unique, positive)
	codes map[string]string // guid -> code, only when valid and unique
	slugs map[string]string // guid -> slug, sanitised and unique ("" if none)
}

type planDay struct {
	Day
	rooms []planRoom
}

type planRoom struct {
	Room
	sessions []*Session
}

// newExportPlan lays out s for export. It fails only on a nil schedule or a
// time zone that does not load.
func newExportPlan(s *Schedule) (*exportPlan, error) {
	if s == nil {
		return nil, errNilSchedule
	}
	loc, err := s.Convention.Location()
	if err != nil {
		return nil, err
	}
	p := &exportPlan{s: s, loc: loc}
	p.layout()
	p.identify()
	return p, nil
}

// layout assigns sessions to days (the day they name, else the day holding
// their start, else the nearest day) and groups them by room.
func (p *exportPlan) layout() {
	days := append([]Day(nil), p.s.Convention.Days...)
	if len(days) == 0 {
		days = p.synthesizeDays()
	}
	pos := make(map[int]int, len(days))
	for i, d := range days {
		if _, dup := pos[d.Index]; !dup {
			pos[d.Index] = i
		}
	}
	perDay := make([][]*Session, len(days))
	for i := range p.s.Sessions {
		ses := &p.s.Sessions[i]
		di, ok := pos[ses.Day]
		if !ok {
			di = nearestDay(days, ses.Start)
		}
		perDay[di] = append(perDay[di], ses)
	}
	roomOrder := make(map[string]int, len(p.s.Rooms))
	for i, r := range p.s.Rooms {
		roomOrder[r.Name] = i
	}
	for i, d := range days {
		if d.Start.IsZero() || d.End.IsZero() {
			date, err := parseDate(d.Date)
			if err != nil && len(perDay[i]) > 0 {
				date = civil(perDay[i][0].Start.In(p.loc))
			}
			d.Start = wallClock(date, p.s.Convention.DayChange, p.loc)
			d.End = wallClock(date.AddDate(0, 0, 1), p.s.Convention.DayChange, p.loc)
		}
		if _, err := parseDate(d.Date); err != nil {
			d.Date = d.Start.In(p.loc).Format(time.DateOnly)
		}
		d.Index = i + 1 // the XSD wants unique positive indexes
		sessions := perDay[i]
		sort.SliceStable(sessions, func(a, b int) bool { return sessions[a].Start.Before(sessions[b].Start) })
		byRoom := make(map[string]*planRoom)
		var rooms []*planRoom
		for _, ses := range sessions {
			r, ok := byRoom[ses.Room]
			if !ok {
				r = &planRoom{Room: p.room(ses.Room)}
				byRoom[ses.Room] = r
				rooms = append(rooms, r)
			}
			r.sessions = append(r.sessions, ses)
		}
		sort.SliceStable(rooms, func(a, b int) bool {
			ra, oka := roomOrder[rooms[a].Name]
			rb, okb := roomOrder[rooms[b].Name]
			return oka && (!okb || ra < rb)
		})
		pd := planDay{Day: d}
		for _, r := range rooms {
			pd.rooms = append(pd.rooms, *r)
		}
		p.days = append(p.days, pd)
	}
}

// room returns the schedule's room with that name, or a bare one.
func (p *exportPlan) room(name string) Room {
	for _, r := range p.s.Rooms {
		if r.Name == name {
			return r
		}
	}
	return Room{Name: name}
}

// synthesizeDays makes one day per local date (shifted by the day change)
// that has sessions, for schedules built without days.
func (p *exportPlan) synthesizeDays() []Day {
	dc := p.s.Convention.DayChange
	seen := make(map[string]bool)
	var dates []time.Time
	for _, ses := range p.s.Sessions {
		lt := ses.Start.In(p.loc).Add(-time.Duration(dc.minutes()) * time.Minute)
		d := civil(lt)
		if k := d.Format(time.DateOnly); !seen[k] {
			seen[k] = true
			dates = append(dates, d)
		}
	}
	if len(dates) == 0 { // the XSD wants at least one day
		dates = append(dates, civil(time.Now().In(p.loc)))
	}
	sort.Slice(dates, func(i, j int) bool { return dates[i].Before(dates[j]) })
	days := make([]Day, len(dates))
	for i, d := range dates {
		days[i] = Day{
			Index: i + 1, Date: d.Format(time.DateOnly),
			Start: wallClock(d, dc, p.loc), End: wallClock(d.AddDate(0, 0, 1), dc, p.loc),
		}
	}
	return days
}

// civil returns t's calendar date at midnight UTC.
func civil(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// nearestDay returns the index of the day holding t, or the one whose
// range is closest to it.
func nearestDay(days []Day, t time.Time) int {
	best, bestDist := 0, time.Duration(1<<63-1)
	for i, d := range days {
		var dist time.Duration
		switch {
		case t.Before(d.Start):
			dist = d.Start.Sub(t)
		case !t.Before(d.End):
			dist = t.Sub(d.End) + 1
		}
		if dist < bestDist {
			best, bestDist = i, dist
		}
	}
	return best
}

// identify gives every session a unique positive numeric id (its own when it
// has one, as both schemas require), and keeps codes and slugs only where
// they are valid and unique.
func (p *exportPlan) identify() {
	n := len(p.s.Sessions)
	p.ids = make(map[string]int64, n)
	p.codes = make(map[string]string, n)
	p.slugs = make(map[string]string, n)
	usedID := make(map[int64]bool, n)
	usedCode := make(map[string]bool, n)
	usedSlug := make(map[string]bool, n)
	var maxID int64
	var needID []string
	for i := range p.s.Sessions {
		ses := &p.s.Sessions[i]
		if id, err := strconv.ParseInt(ses.ID, 10, 64); err == nil && id > 0 && !usedID[id] {
			p.ids[ses.GUID] = id
			usedID[id] = true
			maxID = max(maxID, id)
		} else {
			needID = append(needID, ses.GUID)
		}
		if reCode.MatchString(ses.Code) && !usedCode[ses.Code] {
			p.codes[ses.GUID] = ses.Code
			usedCode[ses.Code] = true
		}
		if slug := sanitizeSlug(ses.Slug); slug != "" && !usedSlug[slug] {
			p.slugs[ses.GUID] = slug
			usedSlug[slug] = true
		}
	}
	for _, g := range needID {
		maxID++
		p.ids[g] = maxID
	}
}

// sanitizeSlug lower-cases s and replaces anything but [a-z0-9_-] by '-',
// then trims trailing '-' and '_' (FOSDEM's "SFKNTZ-welcome_to_fosdem_2026"
// becomes "sfkntz-welcome_to_fosdem_2026").
func sanitizeSlug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.TrimRight(b.String(), "-_")
}

// httpURL returns s if it is an absolute http(s) URL without white space,
// else "".
func httpURL(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\r\n<>\"{}|\\^`") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// localDateTime formats t in loc as RFC 3339 with its offset. An offset
// with seconds (local mean time, Liberia until 1972) cannot be written in
// RFC 3339, so such instants are written in UTC instead.
func localDateTime(t time.Time, loc *time.Location) string {
	if _, off := t.In(loc).Zone(); off%60 != 0 {
		return t.UTC().Format(time.RFC3339)
	}
	return t.In(loc).Format(time.RFC3339)
}

// localClock formats t in loc as "HH:MM".
func localClock(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("15:04")
}
