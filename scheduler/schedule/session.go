package schedule

import (
	"strings"
	"time"
)

// Session is one event in the timetable: a talk, workshop, ceremony...
type Session struct {
	// GUID is the session's identity across imports (lower-case when it is
	// a UUID). A file event without one gets a name-based UUID derived from
	// the convention slug and its ID.
	GUID string `bson:"guid" json:"guid"`
	// ID is the source system's identifier (frab/pentabarf numeric id),
	// kept for reference; it is not unique in real files.
	ID string `bson:"source_id,omitempty" json:"source_id,omitempty"`
	// Code is the pretalx submission code, when given.
	Code string `bson:"code,omitempty" json:"code,omitempty"`
	// Slug and URL point to the session's page at the source.
	Slug string `bson:"slug,omitempty" json:"slug,omitempty"`
	URL  string `bson:"url,omitempty" json:"url,omitempty"`
	// Title is required; Subtitle, Abstract and Description are free text.
	Title       string `bson:"title" json:"title"`
	Subtitle    string `bson:"subtitle,omitempty" json:"subtitle,omitempty"`
	Abstract    string `bson:"abstract,omitempty" json:"abstract,omitempty"`
	Description string `bson:"description,omitempty" json:"description,omitempty"`
	// Type is the session type ("Talk", "lecture", "maintrack").
	Type string `bson:"type,omitempty" json:"type,omitempty"`
	// Language is the language code ("en").
	Language string `bson:"language,omitempty" json:"language,omitempty"`
	// Start is the absolute start instant.
	Start time.Time `bson:"start" json:"start"`
	// Duration is the scheduled length.
	Duration time.Duration `bson:"duration" json:"duration"`
	// Day is the index of the convention day the session belongs to, as the
	// file says (a 01:00 session can belong to the previous day).
	Day int `bson:"day" json:"day"`
	// Room and Track are names from Schedule.Rooms and Schedule.Tracks.
	Room  string `bson:"room" json:"room"`
	Track string `bson:"track,omitempty" json:"track,omitempty"`
	// Persons are the speakers, in billing order.
	Persons []PersonRef `bson:"persons,omitempty" json:"persons,omitempty"`
	// Links and Attachments are related URLs.
	Links       []Link `bson:"links,omitempty" json:"links,omitempty"`
	Attachments []Link `bson:"attachments,omitempty" json:"attachments,omitempty"`
	// RecordingOptOut is set when the speakers asked not to be recorded or
	// streamed; the recorder must not record the session.
	RecordingOptOut bool `bson:"recording_opt_out" json:"recording_opt_out"`
	// RecordingLicense is the license recordings are published under.
	RecordingLicense string `bson:"recording_license,omitempty" json:"recording_license,omitempty"`
	// Logo, FeedbackURL and OriginURL are optional URLs from the file.
	Logo        string `bson:"logo,omitempty" json:"logo,omitempty"`
	FeedbackURL string `bson:"feedback_url,omitempty" json:"feedback_url,omitempty"`
	OriginURL   string `bson:"origin_url,omitempty" json:"origin_url,omitempty"`
}

// End returns the instant the session ends.
func (s *Session) End() time.Time { return s.Start.Add(s.Duration) }

// PersonRef names a speaker of a session. Its Key matches a Speaker's.
type PersonRef struct {
	// GUID, ID and Name are whatever the file gives; at least Name is set.
	GUID string `bson:"guid,omitempty" json:"guid,omitempty"`
	ID   string `bson:"id,omitempty" json:"id,omitempty"`
	Name string `bson:"name" json:"name"`
}

// Key is the person's identity: the guid if any, else the source id, else
// the case-folded name.
func (p PersonRef) Key() string { return personKey(p.GUID, p.ID, p.Name) }

// Speaker is a person who speaks in one or more sessions.
type Speaker struct {
	// GUID, ID and Name identify the speaker as in PersonRef.
	GUID string `bson:"guid,omitempty" json:"guid,omitempty"`
	ID   string `bson:"id,omitempty" json:"id,omitempty"`
	Name string `bson:"name" json:"name"`
	// Slug, Biography, Avatar and URL are optional profile fields.
	Slug      string `bson:"slug,omitempty" json:"slug,omitempty"`
	Biography string `bson:"biography,omitempty" json:"biography,omitempty"`
	Avatar    string `bson:"avatar,omitempty" json:"avatar,omitempty"`
	URL       string `bson:"url,omitempty" json:"url,omitempty"`
}

// Key is the speaker's identity, as PersonRef.Key.
func (s *Speaker) Key() string { return personKey(s.GUID, s.ID, s.Name) }

// personKey builds the identity PersonRef.Key and Speaker.Key share.
// GUIDs compare case-insensitively, names by case-folded words.
func personKey(guid, id, name string) string {
	switch {
	case guid != "":
		return "guid:" + strings.ToLower(guid)
	case id != "":
		return "id:" + id
	default:
		return "name:" + strings.ToLower(strings.Join(strings.Fields(name), " "))
	}
}

// Link is a URL related to a session.
type Link struct {
	// URL is the target, absolute or relative to the convention's base URL.
	URL string `bson:"url" json:"url"`
	// Title is the link text.
	Title string `bson:"title,omitempty" json:"title,omitempty"`
	// Type is the exporter's link type ("related"), if any.
	Type string `bson:"type,omitempty" json:"type,omitempty"`
}
