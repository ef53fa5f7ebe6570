package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// builder turns a rawSchedule into a Schedule, applying the rules every
// format shares. Its methods run in order; each may rely on the previous.
type builder struct {
	raw       *rawSchedule
	lim       Limits
	loc       *time.Location
	dayChange ClockTime
	days      map[int]Day // by index
	s         *Schedule
}

// resolve checks raw and builds the Schedule, or returns the first problem.
func resolve(raw *rawSchedule, lim Limits) (*Schedule, error) {
	b := &builder{raw: raw, lim: lim, days: make(map[int]Day), s: &Schedule{}}
	steps := []func() error{b.zone, b.resolveDayChange, b.resolveDays, b.convention, b.sessions, b.rooms}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	b.tracks()
	b.speakers()
	return b.s, nil
}

// fail builds the *ParseError for a problem at w.
func (b *builder) fail(w where, format string, args ...any) error {
	return errAt(b.raw.format, w, nil, format, args...)
}

// failLimit is fail for an exceeded limit: the error also wraps ErrLimit.
func (b *builder) failLimit(w where, format string, args ...any) error {
	return errAt(b.raw.format, w, ErrLimit, format, args...)
}

// zone picks the convention's time zone: the file's time_zone_name, or a
// fixed-offset zone matching the first offset the file writes (pretalx
// exports omit the name), or UTC.
func (b *builder) zone() error {
	name := strings.TrimSpace(b.raw.conf.timeZone)
	if name == "" {
		name = zoneForOffset(b.firstOffset())
	}
	loc, err := loadZone(name)
	if err != nil {
		return b.fail(b.raw.conf.at.child("time_zone_name"), "%v", err)
	}
	b.loc = loc
	b.s.Convention.TimeZone = name
	return nil
}

// firstOffset returns the UTC offset of the first date-time with an offset
// (day starts first, then event dates), or 0.
func (b *builder) firstOffset() int {
	try := func(s string) (int, bool) {
		if t, ok, err := parseInstant(s, time.UTC); err == nil && ok {
			_, off := t.Zone()
			return off, true
		}
		return 0, false
	}
	for _, d := range b.raw.days {
		if off, ok := try(d.start); ok {
			return off
		}
	}
	for _, d := range b.raw.days {
		for _, e := range d.events {
			if off, ok := try(e.date); ok {
				return off
			}
		}
	}
	return 0
}

// resolveDayChange takes the file's day_change, or else the local clock time
// most days start at (39C3's first day starts at 11:00, the others at
// 06:00: the day change is 06:00). Ties go to the earlier time.
func (b *builder) resolveDayChange() error {
	if s := strings.TrimSpace(b.raw.conf.dayChange); s != "" {
		c, err := parseClock(s)
		if err != nil {
			return b.fail(b.raw.conf.at.child("day_change"), "%v", err)
		}
		b.dayChange = c
		return nil
	}
	counts := map[ClockTime]int{}
	for _, d := range b.raw.days {
		if t, _, err := parseInstant(d.start, b.loc); err == nil {
			lt := t.In(b.loc)
			counts[ClockTime{Hour: lt.Hour(), Minute: lt.Minute()}]++
		}
	}
	best, bestN := ClockTime{}, 0
	for c, n := range counts {
		if n > bestN || n == bestN && c.minutes() < best.minutes() {
			best, bestN = c, n
		}
	}
	b.dayChange = best
	return nil
}

// resolveDays parses the days. A day without start/end runs from its date
// at the day-change time to the next day's.
func (b *builder) resolveDays() error {
	if len(b.raw.days) > b.lim.MaxDays {
		return b.failLimit(b.raw.days[b.lim.MaxDays].at, "more than %d days", b.lim.MaxDays)
	}
	for i, rd := range b.raw.days {
		idx := i + 1
		if s := strings.TrimSpace(rd.index); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return b.fail(rd.at.child("index"), "day index %q is not a positive integer", s)
			}
			idx = n
		}
		if _, dup := b.days[idx]; dup {
			return b.fail(rd.at.child("index"), "duplicate day index %d", idx)
		}
		var date time.Time
		if s := strings.TrimSpace(rd.date); s != "" {
			d, err := parseDate(s)
			if err != nil {
				return b.fail(rd.at.child("date"), "%v", err)
			}
			date = d
		}
		var start, end time.Time
		switch s := strings.TrimSpace(rd.start); {
		case s != "":
			t, _, err := parseInstant(s, b.loc)
			if err != nil {
				return b.fail(rd.at.child("start"), "%v", err)
			}
			start = t
		case !date.IsZero():
			start = wallClock(date, b.dayChange, b.loc)
		default:
			return b.fail(rd.at, "day has neither a date nor a start")
		}
		if date.IsZero() {
			lt := start.In(b.loc)
			date = time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC)
		}
		if s := strings.TrimSpace(rd.end); s != "" {
			t, _, err := parseInstant(s, b.loc)
			if err != nil {
				return b.fail(rd.at.child("end"), "%v", err)
			}
			end = t
		} else {
			end = wallClock(date.AddDate(0, 0, 1), b.dayChange, b.loc)
		}
		if end.Before(start) {
			return b.fail(rd.at.child("end"), "day ends (%s) before it starts (%s)",
				end.Format(time.RFC3339), start.Format(time.RFC3339))
		}
		d := Day{Index: idx, Date: date.Format(time.DateOnly), Start: start.In(b.loc), End: end.In(b.loc)}
		b.days[idx] = d
		b.s.Convention.Days = append(b.s.Convention.Days, d)
	}
	return nil
}

// convention fills the convention-level fields.
func (b *builder) convention() error {
	rc := &b.raw.conf
	c := &b.s.Convention
	// The acronym becomes a URL slug: lower-case, [a-z0-9_-] only
	// ("Camp2019" is "camp2019").
	c.Slug = sanitizeSlug(line(rc.acronym))
	c.Title = line(rc.title)
	if c.Slug == "" {
		c.Slug = slugify(c.Title)
	}
	c.Subtitle, c.Venue, c.City = line(rc.subtitle), line(rc.venue), line(rc.city)
	c.DayChange = b.dayChange
	c.BaseURL, c.URL, c.Version = line(rc.baseURL), line(rc.url), line(b.raw.version)
	// Presentation-only fields: an unparseable value is dropped, not fatal.
	if d, err := parseDuration(rc.timeslot); err == nil {
		c.TimeslotDuration = d
	}
	c.Start, c.End = b.civilDate(rc.start), b.civilDate(rc.end)
	if n := len(c.Days); n > 0 {
		if c.Start == "" {
			c.Start = c.Days[0].Date
		}
		if c.End == "" {
			c.End = c.Days[n-1].Date
		}
	}
	return nil
}

// civilDate turns "2026-01-31" or a date-time into a local civil date, or "".
func (b *builder) civilDate(s string) string {
	s = strings.TrimSpace(s)
	if d, err := parseDate(s); err == nil {
		return d.Format(time.DateOnly)
	}
	if t, _, err := parseInstant(s, b.loc); err == nil {
		return t.In(b.loc).Format(time.DateOnly)
	}
	return ""
}

// sessions resolves every event.
func (b *builder) sessions() error {
	seen := make(map[string]where)
	for i := range b.raw.days {
		rd := &b.raw.days[i]
		day := b.s.Convention.Days[i]
		for j := range rd.events {
			s, err := b.session(&rd.events[j], day)
			if err != nil {
				return err
			}
			if first, dup := seen[s.GUID]; dup {
				return b.fail(rd.events[j].at, "duplicate guid %q (first used %s)", s.GUID, describe(first))
			}
			seen[s.GUID] = rd.events[j].at
			b.s.Sessions = append(b.s.Sessions, s)
		}
	}
	if len(b.s.Sessions) > b.lim.MaxEvents {
		return b.failLimit(where{offset: -1}, "more than %d events", b.lim.MaxEvents)
	}
	return nil
}

// describe renders a location for a message ("line 12" or a JSON path).
func describe(w where) string {
	if w.line > 0 {
		return fmt.Sprintf("at line %d", w.line)
	}
	return "at " + w.path
}

// session resolves one event of day into a Session: identity, required
// fields, text limits, start, duration, persons and links.
func (b *builder) session(e *rawEvent, day Day) (Session, error) {
	s := Session{
		GUID: normalizeGUID(e.guid), ID: line(e.id), Code: line(e.code),
		Slug: line(e.slug), URL: line(e.url),
		Title: line(e.title), Subtitle: line(e.subtitle),
		Abstract: text(e.abstract), Description: text(e.description),
		Type: line(e.typ), Language: line(e.language),
		Day: day.Index, Room: line(e.room), Track: line(e.track),
		RecordingOptOut: e.optOut, RecordingLicense: line(e.license),
		Logo: line(e.logo), FeedbackURL: line(e.feedbackURL), OriginURL: line(e.originURL),
	}
	if s.GUID == "" {
		if s.ID == "" {
			return s, b.fail(e.at, "event has neither a guid nor an id")
		}
		s.GUID = uuidV5(namespaceURL, "plenary:"+b.s.Convention.Slug+":event:"+s.ID)
	}
	if s.Title == "" {
		return s, b.fail(e.at.child("title"), "missing title")
	}
	if s.Room == "" {
		s.Room = line(e.groupRoom)
	}
	if s.Room == "" {
		return s, b.fail(e.at.child("room"), "missing room")
	}
	for _, f := range []struct{ name, v string }{
		{"title", s.Title}, {"subtitle", s.Subtitle}, {"abstract", s.Abstract}, {"description", s.Description},
	} {
		if len(f.v) > b.lim.MaxTextBytes {
			return s, b.failLimit(e.at.child(f.name), "longer than %d bytes", b.lim.MaxTextBytes)
		}
	}
	start, err := b.eventStart(e, day)
	if err != nil {
		return s, err
	}
	s.Start = start.In(b.loc)
	if s.Duration, err = b.eventDuration(e, start); err != nil {
		return s, err
	}
	if len(e.persons) > b.lim.MaxPersonsPerEvent {
		return s, b.failLimit(e.at.child("persons"), "more than %d persons", b.lim.MaxPersonsPerEvent)
	}
	if len(e.links) > b.lim.MaxLinksPerEvent || len(e.attachments) > b.lim.MaxLinksPerEvent {
		return s, b.failLimit(e.at.child("links"), "more than %d links or attachments", b.lim.MaxLinksPerEvent)
	}
	for _, p := range e.persons {
		ref := PersonRef{GUID: normalizeGUID(p.GUID), ID: line(p.ID), Name: line(p.Name)}
		if ref.Name == "" && ref.GUID == "" && ref.ID == "" {
			continue
		}
		s.Persons = append(s.Persons, ref)
	}
	s.Links = cleanLinks(e.links)
	s.Attachments = cleanLinks(e.attachments)
	return s, nil
}

// eventStart resolves an event's start. A date-time with an offset is
// absolute; one without is local to the convention zone. With no date, the
// start clock time is on the day's date, or on the next calendar date when
// it is earlier than the day change (a 01:00 talk on FOSDEM's Saturday is
// early Sunday).
func (b *builder) eventStart(e *rawEvent, day Day) (time.Time, error) {
	date := strings.TrimSpace(e.date)
	var onDate time.Time // a date-only <date>, combined with <start>
	if date != "" {
		d, err := parseDate(date)
		if err != nil {
			t, _, err := parseInstant(date, b.loc)
			if err != nil {
				return t, b.fail(e.at.child("date"), "%v", err)
			}
			return t, nil
		}
		onDate = d
	}
	if strings.TrimSpace(e.start) == "" {
		return time.Time{}, b.fail(e.at.child("start"), "missing date and start")
	}
	clock, err := parseClock(e.start)
	if err != nil {
		return time.Time{}, b.fail(e.at.child("start"), "%v", err)
	}
	if !onDate.IsZero() {
		return wallClock(onDate, clock, b.loc), nil
	}
	d, err := parseDate(day.Date)
	if err != nil { // cannot happen: resolveDays wrote it
		return time.Time{}, b.fail(e.at, "%v", err)
	}
	if clock.minutes() < b.dayChange.minutes() {
		d = d.AddDate(0, 0, 1)
	}
	return wallClock(d, clock, b.loc), nil
}

// eventDuration reads the duration, or derives it from an end date-time
// (the c3voc "schedule2" draft writes end instead).
func (b *builder) eventDuration(e *rawEvent, start time.Time) (time.Duration, error) {
	var d time.Duration
	switch {
	case strings.TrimSpace(e.duration) != "":
		v, err := parseDuration(e.duration)
		if err != nil {
			return 0, b.fail(e.at.child("duration"), "%v", err)
		}
		d = v
	case strings.TrimSpace(e.end) != "":
		end, _, err := parseInstant(e.end, b.loc)
		if err != nil {
			return 0, b.fail(e.at.child("end"), "%v", err)
		}
		if d = end.Sub(start); d < 0 {
			return 0, b.fail(e.at.child("end"), "event ends before it starts")
		}
	default:
		return 0, b.fail(e.at.child("duration"), "missing duration")
	}
	if d > b.lim.MaxSessionDuration {
		return 0, b.failLimit(e.at.child("duration"), "duration %s is longer than %s", d, b.lim.MaxSessionDuration)
	}
	return d, nil
}

// rooms lists declared rooms, then rooms first met in sessions.
func (b *builder) rooms() error {
	index := make(map[string]int)
	add := func(r Room) {
		r.Name, r.Slug, r.GUID = line(r.Name), line(r.Slug), normalizeGUID(r.GUID)
		if r.Name == "" {
			return
		}
		if i, ok := index[r.Name]; ok {
			have := &b.s.Rooms[i]
			if have.Slug == "" {
				have.Slug = r.Slug
			}
			if have.GUID == "" {
				have.GUID = r.GUID
			}
			return
		}
		index[r.Name] = len(b.s.Rooms)
		b.s.Rooms = append(b.s.Rooms, r)
	}
	for _, r := range b.raw.rooms {
		add(r)
	}
	for _, s := range b.s.Sessions {
		add(Room{Name: s.Room})
	}
	// Every room gets a stable identity, like sessions do.
	for i := range b.s.Rooms {
		if r := &b.s.Rooms[i]; r.GUID == "" {
			r.GUID = uuidV5(namespaceURL, "plenary:"+b.s.Convention.Slug+":room:"+r.Name)
		}
	}
	if len(b.s.Rooms) > b.lim.MaxRooms {
		return b.failLimit(where{offset: -1}, "more than %d rooms", b.lim.MaxRooms)
	}
	return nil
}

// tracks lists declared tracks, then tracks first met in sessions.
func (b *builder) tracks() {
	index := make(map[string]int)
	add := func(t Track) {
		t.Name, t.Slug, t.Color = line(t.Name), line(t.Slug), line(t.Color)
		if t.Name == "" {
			return
		}
		if i, ok := index[t.Name]; ok {
			have := &b.s.Tracks[i]
			if have.Slug == "" {
				have.Slug = t.Slug
			}
			if have.Color == "" {
				have.Color = t.Color
			}
			return
		}
		index[t.Name] = len(b.s.Tracks)
		b.s.Tracks = append(b.s.Tracks, t)
	}
	for _, t := range b.raw.tracks {
		add(t)
	}
	for i := range b.raw.days {
		for _, e := range b.raw.days[i].events {
			add(Track{Name: e.track, Slug: e.trackSlug})
		}
	}
}

// speakers merges declared persons and every session's persons by identity,
// keeping the first non-empty value of each profile field.
func (b *builder) speakers() {
	index := make(map[string]int)
	add := func(p Speaker) {
		p.GUID, p.ID, p.Name = normalizeGUID(p.GUID), line(p.ID), line(p.Name)
		p.Slug, p.Biography, p.Avatar, p.URL = line(p.Slug), text(p.Biography), line(p.Avatar), line(p.URL)
		if p.Name == "" && p.GUID == "" && p.ID == "" {
			return
		}
		k := p.Key()
		i, ok := index[k]
		if !ok {
			index[k] = len(b.s.Speakers)
			b.s.Speakers = append(b.s.Speakers, p)
			return
		}
		have := &b.s.Speakers[i]
		for _, f := range []struct {
			dst *string
			src string
		}{
			{&have.Name, p.Name}, {&have.Slug, p.Slug}, {&have.Biography, p.Biography},
			{&have.Avatar, p.Avatar}, {&have.URL, p.URL},
		} {
			if *f.dst == "" {
				*f.dst = f.src
			}
		}
	}
	for _, p := range b.raw.people {
		add(p)
	}
	for i := range b.raw.days {
		for _, e := range b.raw.days[i].events {
			for _, p := range e.persons {
				add(p)
			}
		}
	}
}

// cleanLinks trims links and drops those without a URL.
func cleanLinks(in []Link) []Link {
	var out []Link
	for _, l := range in {
		l = Link{URL: line(l.URL), Title: line(l.Title), Type: line(l.Type)}
		if l.URL != "" {
			out = append(out, l)
		}
	}
	return out
}

// line cleans a single-line field: control characters dropped, surrounding
// white space trimmed.
func line(s string) string { return strings.TrimSpace(dropControls(s)) }

// text cleans a multi-line field: CRLF and CR become LF, other control
// characters are dropped, and trailing white space is trimmed.
func text(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return strings.TrimRight(dropControls(s), " \t\n")
}

// dropControls removes C0 control characters other than tab and newline,
// and DEL, and replaces the non-characters U+FFFE and U+FFFF: JSON can carry
// them, XML 1.0 and iCalendar cannot, and no timetable needs them.
func dropControls(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7f:
			return -1
		case r == 0xFFFE || r == 0xFFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}

// slugify makes a URL-safe slug of s: lower-case ASCII letters and digits,
// runs of anything else collapsed to one '-'.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
