package api

import (
	"fmt"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/scheduler/catalog"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Convention is a convention as the API shows it.
type Convention struct {
	// Slug names the convention in URLs.
	Slug string `json:"slug"`
	// Title, Subtitle, Venue, City and URL are display fields.
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	Venue    string `json:"venue,omitempty"`
	City     string `json:"city,omitempty"`
	URL      string `json:"url,omitempty"`
	// TimeZone is the IANA zone; every instant in responses is given in it.
	TimeZone string `json:"time_zone"`
	// DayChange is the local "HH:MM" at which one convention day ends.
	DayChange string `json:"day_change"`
	// Start and End are the first and last dates (YYYY-MM-DD).
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
	// Version is the schedule version string of the last imported file.
	Version string `json:"version,omitempty"`
	// Days are the convention days, which may cross midnight.
	Days []Day `json:"days"`
	// Published says whether attendees see the convention.
	Published bool `json:"published"`
	// Counts are the timetable's sizes.
	Counts catalog.Counts `json:"counts"`
	// Created and Updated are when the convention was created and changed.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Day is one convention day; Start and End are in the convention's zone.
type Day struct {
	// Index is the 1-based day number.
	Index int       `json:"index"`
	Date  string    `json:"date"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

func conventionOut(info catalog.Info) Convention {
	c := info.Convention
	loc, _ := c.Location()
	out := Convention{
		Slug: c.Slug, Title: c.Title, Subtitle: c.Subtitle, Venue: c.Venue, City: c.City, URL: c.URL,
		TimeZone: zoneName(c.TimeZone), DayChange: c.DayChange.String(), Start: c.Start, End: c.End,
		Version: c.Version, Days: make([]Day, len(c.Days)), Published: info.Published, Counts: info.Counts,
		Created: info.Created.UTC(), Updated: info.Updated.UTC(),
	}
	for i, d := range c.Days {
		out.Days[i] = Day{Index: d.Index, Date: d.Date, Start: in(d.Start, loc), End: in(d.End, loc)}
	}
	return out
}

func zoneName(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

func in(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		return t.UTC()
	}
	return t.In(loc)
}

// ConventionInput creates or updates a convention. Start and End (dates)
// generate the days, each from the day-change time to the next day's.
type ConventionInput struct {
	// Slug is required on create and must match the URL on update.
	Slug      string `json:"slug"`
	Title     string `json:"title"`
	Subtitle  string `json:"subtitle"`
	Venue     string `json:"venue"`
	City      string `json:"city"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	DayChange string `json:"day_change"`
	Start     string `json:"start"`
	End       string `json:"end"`
}

// apply sets c's metadata from in. The days are regenerated when in names
// a start or an end date; otherwise they stay as imported or created.
func (in ConventionInput) apply(c *schedule.Convention) error {
	c.Title, c.Subtitle, c.Venue, c.City, c.URL = in.Title, in.Subtitle, in.Venue, in.City, in.URL
	c.TimeZone = in.TimeZone
	if in.DayChange != "" {
		dc, err := parseClock(in.DayChange)
		if err != nil {
			return err
		}
		c.DayChange = dc
	}
	if in.Start == "" && in.End == "" {
		return nil
	}
	c.Start, c.End = in.Start, in.End
	if c.Start == "" {
		return badRequest("end needs a start date")
	}
	days, err := makeDays(c)
	if err != nil {
		return err
	}
	c.Days = days
	return nil
}

// maxDays bounds the days an API-created convention may span.
const maxDays = schedule.DefaultMaxDays

// makeDays builds one day per date from Start to End (inclusive), each
// running from the day change to the next day's, DST-correct.
func makeDays(c *schedule.Convention) ([]schedule.Day, error) {
	loc, err := c.Location()
	if err != nil {
		return nil, badRequest("time_zone %q: %v", c.TimeZone, err)
	}
	first, err := time.ParseInLocation(time.DateOnly, c.Start, loc)
	if err != nil {
		return nil, badRequest("start %q is not a date (YYYY-MM-DD)", c.Start)
	}
	last := first
	if c.End != "" {
		if last, err = time.ParseInLocation(time.DateOnly, c.End, loc); err != nil {
			return nil, badRequest("end %q is not a date (YYYY-MM-DD)", c.End)
		}
	} else {
		c.End = c.Start
	}
	if last.Before(first) {
		return nil, badRequest("end %s is before start %s", c.End, c.Start)
	}
	var days []schedule.Day
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if len(days) == maxDays {
			return nil, badRequest("a convention spans at most %d days", maxDays)
		}
		at := func(day time.Time) time.Time {
			return time.Date(day.Year(), day.Month(), day.Day(), c.DayChange.Hour, c.DayChange.Minute, 0, 0, loc)
		}
		days = append(days, schedule.Day{
			Index: len(days) + 1, Date: d.Format(time.DateOnly), Start: at(d), End: at(d.AddDate(0, 0, 1)),
		})
	}
	return days, nil
}

// parseClock parses "HH:MM".
func parseClock(s string) (schedule.ClockTime, error) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return schedule.ClockTime{}, badRequest("day_change %q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &h, &m); err != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return schedule.ClockTime{}, badRequest("day_change %q is not HH:MM", s)
	}
	return schedule.ClockTime{Hour: h, Minute: m}, nil
}

// Speaker is a speaker as the API shows it: the profile plus its Key, the
// identity used in URLs.
type Speaker struct {
	Key string `json:"key"`
	schedule.Speaker
}

// Person is a session's reference to a speaker.
type Person struct {
	// Key is the speaker's identity (see Speaker).
	Key  string `json:"key"`
	GUID string `json:"guid,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Session is a session as the API shows it: times in the convention's
// zone, the duration in whole minutes.
type Session struct {
	// GUID is the session's identity across imports.
	GUID        string `json:"guid"`
	Title       string `json:"title"`
	Subtitle    string `json:"subtitle,omitempty"`
	Abstract    string `json:"abstract,omitempty"`
	Description string `json:"description,omitempty"`
	Type        string `json:"type,omitempty"`
	Language    string `json:"language,omitempty"`
	// Start and End are in the convention's zone.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// DurationMinutes is the scheduled length in whole minutes.
	DurationMinutes int `json:"duration_minutes"`
	// Day is the convention day the file put the session in (a 01:00
	// session may belong to the previous day), 0 if none.
	Day  int    `json:"day"`
	Room string `json:"room"`
	// RoomID is the live room ID of the session's room (catalog.RoomID):
	// the {room} of the live page /t/{tenant}/live/{room} and the room the
	// gateway joins and the recorder records.
	RoomID  string          `json:"room_id"`
	Track   string          `json:"track,omitempty"`
	Persons []Person        `json:"persons"`
	Links   []schedule.Link `json:"links,omitempty"`
	// RecordingOptOut sessions are never recorded.
	RecordingOptOut  bool   `json:"recording_opt_out"`
	RecordingLicense string `json:"recording_license,omitempty"`
	// SourceID is the exporter's numeric id, kept for reference.
	SourceID string `json:"source_id,omitempty"`
	URL      string `json:"url,omitempty"`
}

// sessionOut shows s, a session of tt, with times in loc.
func sessionOut(tt *catalog.Timetable, s *schedule.Session, loc *time.Location) Session {
	roomID, _ := tt.RoomID(s.Room)
	out := Session{
		GUID: s.GUID, Title: s.Title, Subtitle: s.Subtitle, Abstract: s.Abstract, Description: s.Description,
		Type: s.Type, Language: s.Language, Start: in(s.Start, loc), End: in(s.End(), loc),
		DurationMinutes: int(s.Duration / time.Minute), Day: s.Day, Room: s.Room, RoomID: roomID, Track: s.Track,
		Persons: make([]Person, len(s.Persons)), Links: s.Links, RecordingOptOut: s.RecordingOptOut,
		RecordingLicense: s.RecordingLicense, SourceID: s.ID, URL: s.URL,
	}
	for i, p := range s.Persons {
		out.Persons[i] = Person{Key: p.Key(), GUID: p.GUID, ID: p.ID, Name: p.Name}
	}
	return out
}

func sessionsOut(tt *catalog.Timetable, ss []*schedule.Session, loc *time.Location) []Session {
	out := make([]Session, len(ss))
	for i, s := range ss {
		out[i] = sessionOut(tt, s, loc)
	}
	return out
}

// SessionInput creates or replaces a session. Fields it lacks (source id,
// attachments, logo...) keep their values on replace.
type SessionInput struct {
	// GUID is optional on create (a random UUID is generated) and must
	// match the URL on replace.
	GUID        string `json:"guid"`
	Title       string `json:"title"`
	Subtitle    string `json:"subtitle"`
	Abstract    string `json:"abstract"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Language    string `json:"language"`
	// Start is required (RFC 3339, any offset).
	Start           time.Time `json:"start"`
	DurationMinutes int       `json:"duration_minutes"`
	// Day 0 means the convention day holding Start.
	Day int `json:"day"`
	// Room is required and must exist; Track, if set, must exist.
	Room             string          `json:"room"`
	Track            string          `json:"track"`
	Persons          []Person        `json:"persons"`
	Links            []schedule.Link `json:"links"`
	RecordingOptOut  bool            `json:"recording_opt_out"`
	RecordingLicense string          `json:"recording_license"`
	URL              string          `json:"url"`
}

// maxSessionMinutes is the longest session the API accepts.
const maxSessionMinutes = int(schedule.DefaultMaxSessionDuration / time.Minute)

// apply sets s from in. The day defaults to the convention day holding the
// start.
func (in SessionInput) apply(s *schedule.Session, conv *schedule.Convention) error {
	if strings.TrimSpace(in.Title) == "" {
		return badRequest("title is required")
	}
	if in.Start.IsZero() {
		return badRequest("start is required (RFC 3339)")
	}
	if in.DurationMinutes < 0 || in.DurationMinutes > maxSessionMinutes {
		return badRequest("duration_minutes must be 0..%d", maxSessionMinutes)
	}
	if strings.TrimSpace(in.Room) == "" {
		return badRequest("room is required")
	}
	if len(in.Persons) > schedule.DefaultMaxPersonsPerEvent || len(in.Links) > schedule.DefaultMaxLinksPerEvent {
		return badRequest("at most %d persons and %d links", schedule.DefaultMaxPersonsPerEvent, schedule.DefaultMaxLinksPerEvent)
	}
	s.Title, s.Subtitle, s.Abstract, s.Description = in.Title, in.Subtitle, in.Abstract, in.Description
	s.Type, s.Language, s.URL = in.Type, in.Language, in.URL
	s.Start = in.Start.UTC().Truncate(time.Second)
	s.Duration = time.Duration(in.DurationMinutes) * time.Minute
	s.Room, s.Track = in.Room, in.Track
	s.RecordingOptOut, s.RecordingLicense = in.RecordingOptOut, in.RecordingLicense
	s.Links = in.Links
	s.Persons = make([]schedule.PersonRef, 0, len(in.Persons))
	for _, p := range in.Persons {
		if strings.TrimSpace(p.Name) == "" {
			return badRequest("every person needs a name")
		}
		s.Persons = append(s.Persons, schedule.PersonRef{GUID: p.GUID, ID: p.ID, Name: p.Name})
	}
	s.Day = in.Day
	if s.Day == 0 {
		if d, ok := conv.DayAt(s.Start); ok {
			s.Day = d.Index
		}
	}
	return nil
}

// ImportSummary is the answer to a schedule import.
type ImportSummary struct {
	// Days, Rooms (rooms holding at least one event) and Events count the
	// imported schedule.
	Days   int `json:"days"`
	Rooms  int `json:"rooms"`
	Events int `json:"events"`
	// Created, Updated, Unchanged and Deleted count sessions by guid
	// against the previous import.
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Deleted   int `json:"deleted"`
	// Conflicts are the timetable's problems (reported, not rejected).
	Conflicts []schedule.Conflict `json:"conflicts"`
}

// Room is a room as the API shows it: the schedule's room and its live
// room ID.
type Room struct {
	schedule.Room
	// RoomID is the live room ID (catalog.RoomID): the {room} of the live
	// page /t/{tenant}/live/{room}, the room the gateway joins, the SFU
	// room and what the recorder records. Read-only: derived from the GUID.
	RoomID string `json:"room_id"`
}

// roomOut shows r, a room of tt.
func roomOut(tt *catalog.Timetable, r schedule.Room) Room {
	id, ok := tt.RoomID(r.Name)
	if !ok {
		id = catalog.RoomID(r)
	}
	return Room{Room: r, RoomID: id}
}

// NowNextRoom is one room's current and next session.
type NowNextRoom struct {
	// Room is the room.
	Room Room `json:"room"`
	// Now is the session running at the instant asked about, or null.
	Now *Session `json:"now"`
	// Next is the first session starting after it, or null.
	Next *Session `json:"next"`
}
