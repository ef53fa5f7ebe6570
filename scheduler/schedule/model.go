package schedule

import (
	"fmt"
	"time"
)

// Schedule is a convention's whole timetable: what an import produces and an
// export consumes.
type Schedule struct {
	// Convention holds the convention-level settings and its days.
	Convention Convention `bson:"convention" json:"convention"`
	// Rooms lists the rooms in display order: those the file declares, then
	// any first met in an event.
	Rooms []Room `bson:"rooms" json:"rooms"`
	// Tracks lists the tracks in display order, declared ones first.
	Tracks []Track `bson:"tracks" json:"tracks"`
	// Sessions are the events, in file order. GUIDs are unique.
	Sessions []Session `bson:"sessions" json:"sessions"`
	// Speakers are the people named by sessions (and, for FOSDEM, the
	// top-level person list), one entry per identity (see Speaker.Key).
	Speakers []Speaker `bson:"speakers" json:"speakers"`
}

// Convention is a multi-day event with its own time zone. Its days may cross
// midnight: a day runs from its Start to its End, and a session belongs to
// the day the file put it in, even when it starts after midnight.
type Convention struct {
	// Slug identifies the convention in URLs (the file's acronym).
	Slug string `bson:"slug" json:"slug"`
	// Title is the display name.
	Title string `bson:"title" json:"title"`
	// Subtitle, Venue and City are optional display fields.
	Subtitle string `bson:"subtitle,omitempty" json:"subtitle,omitempty"`
	Venue    string `bson:"venue,omitempty" json:"venue,omitempty"`
	City     string `bson:"city,omitempty" json:"city,omitempty"`
	// TimeZone is the IANA name of the convention's zone ("Europe/Brussels").
	// Empty means UTC.
	TimeZone string `bson:"time_zone" json:"time_zone"`
	// DayChange is the local clock time at which one convention day ends and
	// the next begins (FOSDEM 09:00, 39C3 06:00). Local clock times in a file
	// that are earlier than it belong to the next calendar date.
	DayChange ClockTime `bson:"day_change" json:"day_change"`
	// Start and End are the first and last calendar dates ("2006-01-02").
	Start string `bson:"start,omitempty" json:"start,omitempty"`
	End   string `bson:"end,omitempty" json:"end,omitempty"`
	// TimeslotDuration is the grid the timetable is drawn on; zero if unknown.
	TimeslotDuration time.Duration `bson:"timeslot_duration,omitempty" json:"timeslot_duration,omitempty"`
	// BaseURL and URL are the exporter's base URL and the convention website.
	BaseURL string `bson:"base_url,omitempty" json:"base_url,omitempty"`
	URL     string `bson:"url,omitempty" json:"url,omitempty"`
	// Version is the schedule version string from the file.
	Version string `bson:"version,omitempty" json:"version,omitempty"`
	// Days are the convention days in file order.
	Days []Day `bson:"days" json:"days"`
}

// Location loads the convention's time zone; an empty TimeZone is UTC.
func (c *Convention) Location() (*time.Location, error) {
	return loadZone(c.TimeZone)
}

// Day returns the day with the given index.
func (c *Convention) Day(index int) (Day, bool) {
	for _, d := range c.Days {
		if d.Index == index {
			return d, true
		}
	}
	return Day{}, false
}

// DayAt returns the day whose [Start, End) range holds t.
func (c *Convention) DayAt(t time.Time) (Day, bool) {
	for _, d := range c.Days {
		if !t.Before(d.Start) && t.Before(d.End) {
			return d, true
		}
	}
	return Day{}, false
}

// Day is one convention day.
type Day struct {
	// Index is the 1-based day number the file gives.
	Index int `bson:"index" json:"index"`
	// Date is the civil date the day is named by ("2006-01-02"), which is
	// the date of Start, not of sessions after midnight.
	Date string `bson:"date" json:"date"`
	// Start and End bound the day; End may be on the next calendar date.
	Start time.Time `bson:"start" json:"start"`
	End   time.Time `bson:"end" json:"end"`
}

// ClockTime is a local wall-clock time of day.
type ClockTime struct {
	// Hour is 0-23.
	Hour int `bson:"hour" json:"hour"`
	// Minute is 0-59.
	Minute int `bson:"minute" json:"minute"`
}

// String formats the clock time as "HH:MM".
func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// minutes returns the time as minutes after midnight.
func (c ClockTime) minutes() int { return c.Hour*60 + c.Minute }

// Room is a room or stage. Each can back a live SFU room.
type Room struct {
	// Name is the display name and the key sessions refer to it by.
	Name string `bson:"name" json:"name"`
	// Slug is a URL-safe name, when the file gives one.
	Slug string `bson:"slug,omitempty" json:"slug,omitempty"`
	// GUID is the room's guid from the file, or a name-based UUID derived
	// from the convention slug and room name when the file has none.
	GUID string `bson:"guid,omitempty" json:"guid,omitempty"`
}

// Track is a thematic track.
type Track struct {
	// Name is the display name and the key sessions refer to it by.
	Name string `bson:"name" json:"name"`
	// Slug is a URL-safe name, when the file gives one.
	Slug string `bson:"slug,omitempty" json:"slug,omitempty"`
	// Color is a "#rrggbb" colour, when the file gives one.
	Color string `bson:"color,omitempty" json:"color,omitempty"`
}
