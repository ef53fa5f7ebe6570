package catalog

import (
	"time"

	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Collection names. All but publishedCollection are tenant-scoped.
const (
	conventionsCollection = "sched.conventions"
	sessionsCollection    = "sched.sessions"
	roomsCollection       = "sched.rooms"
	tracksCollection      = "sched.tracks"
	speakersCollection    = "sched.speakers"
	versionsCollection    = "sched.versions"
	starsCollection       = "sched.stars"
	feedsCollection       = "sched.feeds"
	secretsCollection     = "sched.secrets"
	// publishedCollection is a system collection: an index of every
	// tenant's published conventions for the action planner, which runs for
	// all tenants at once and has no tenant to scope a query by.
	publishedCollection = "scheduler.published"
)

// Counts says how many documents of each kind a version holds. The convention
// stores them so that a reader can tell a complete version from one whose
// documents are being deleted under it.
type Counts struct {
	Sessions int `bson:"sessions" json:"sessions"`
	Rooms    int `bson:"rooms" json:"rooms"`
	Tracks   int `bson:"tracks" json:"tracks"`
	Speakers int `bson:"speakers" json:"speakers"`
}

// Info is a convention's metadata as stored: the schedule.Convention plus
// what the platform adds (publication, version, change tracking).
type Info struct {
	// Convention is the timetable-level data (slug, title, zone, days...).
	Convention schedule.Convention
	// Published makes the convention visible to attendees and lets its
	// timed actions run.
	Published bool
	// Ver is the id of the current timetable version ("" before the first
	// commit).
	Ver string
	// ETag changes on every write, metadata included.
	ETag string
	// Counts are the current version's document counts.
	Counts Counts
	// Created and Updated are when the convention was created and last
	// changed.
	Created, Updated time.Time

	prevVer string // the version before Ver, deleted by the next commit
}

// conventionDoc is the stored form of Info.
type conventionDoc struct {
	// Slug is the convention's key, unique per tenant. It is a top-level
	// field for the unique index; Meta.Slug always equals it.
	Slug string `bson:"slug"`
	// Meta is replaced as a whole by a commit, so fields a new version
	// leaves empty do not linger from the previous one.
	Meta schedule.Convention `bson:"meta"`

	Published bool      `bson:"published"`
	Ver       string    `bson:"ver"`
	PrevVer   string    `bson:"prev_ver"`
	ETag      string    `bson:"etag"`
	Counts    Counts    `bson:"counts"`
	Created   time.Time `bson:"created"`
	Updated   time.Time `bson:"updated"`
}

func (d *conventionDoc) info() Info {
	return Info{
		Convention: d.Meta, Published: d.Published, Ver: d.Ver, ETag: d.ETag,
		Counts: d.Counts, Created: d.Created, Updated: d.Updated, prevVer: d.PrevVer,
	}
}

// sessionDoc is one session of one version.
type sessionDoc struct {
	Conv             string `bson:"conv"`
	Ver              string `bson:"ver"`
	Pos              int    `bson:"pos"`
	schedule.Session `bson:",inline"`
}

// roomDoc is one room of one version.
type roomDoc struct {
	Conv          string `bson:"conv"`
	Ver           string `bson:"ver"`
	Pos           int    `bson:"pos"`
	schedule.Room `bson:",inline"`
}

// trackDoc is one track of one version.
type trackDoc struct {
	Conv           string `bson:"conv"`
	Ver            string `bson:"ver"`
	Pos            int    `bson:"pos"`
	schedule.Track `bson:",inline"`
}

// speakerDoc is one speaker of one version; Key is schedule.Speaker.Key.
type speakerDoc struct {
	Conv             string `bson:"conv"`
	Ver              string `bson:"ver"`
	Pos              int    `bson:"pos"`
	Key              string `bson:"key"`
	schedule.Speaker `bson:",inline"`
}

// claimDoc grants its writer the right to succeed version Base with version
// New. Gen is 1 for the first claim on a base; a writer taking over a stale
// claim inserts Gen+1.
type claimDoc struct {
	Conv  string    `bson:"conv"`
	Base  string    `bson:"base"`
	Gen   int       `bson:"gen"`
	New   string    `bson:"new"`
	At    time.Time `bson:"at"`
	Owner string    `bson:"owner"`
}

// starDoc is one starred session of one attendee.
type starDoc struct {
	Conv string    `bson:"conv"`
	User string    `bson:"user"`
	GUID string    `bson:"guid"`
	At   time.Time `bson:"at"`
}

// feedDoc holds the nonce of an attendee's private feed URL; rotating it
// revokes every URL handed out before.
type feedDoc struct {
	Conv  string `bson:"conv"`
	User  string `bson:"user"`
	Nonce string `bson:"nonce"`
}

// secretDoc is a per-tenant secret.
type secretDoc struct {
	Name   string `bson:"name"`
	Secret []byte `bson:"secret"`
}

// publishedDoc is one entry of the system index of published conventions.
type publishedDoc struct {
	ID     string `bson:"_id"`
	Tenant string `bson:"tenant"`
	Slug   string `bson:"slug"`
}
