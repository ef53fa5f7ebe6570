package library

import (
	"fmt"
	"time"
)

// Status is where a recording is in its life.
type Status string

// Recording statuses. The zero value is StatusUnknown.
const (
	StatusUnknown   Status = ""
	StatusRecording Status = "recording"
	StatusPackaging Status = "packaging"
	StatusReady     Status = "ready"
	StatusFailed    Status = "failed"
)

// String returns the status name ("unknown" for the zero value).
func (s Status) String() string {
	if s == StatusUnknown {
		return "unknown"
	}
	return string(s)
}

// ParseStatus parses a status name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusRecording, StatusPackaging, StatusReady, StatusFailed:
		return st, nil
	}
	return StatusUnknown, fmt.Errorf("%w: status %q", ErrInvalid, s)
}

// Recording is a recorded session in the library.
type Recording struct {
	// ID is the recording ID (the recorder's directory name).
	ID string `bson:"id" json:"id"`
	// Session is the schedule session's guid; Room the SFU room; Title and
	// Track come from the schedule. Track names the course the recording
	// joins by default.
	Session string `bson:"session,omitempty" json:"session,omitempty"`
	Room    string `bson:"room,omitempty" json:"room,omitempty"`
	Title   string `bson:"title,omitempty" json:"title,omitempty"`
	Track   string `bson:"track,omitempty" json:"track,omitempty"`
	// Status and, for StatusFailed, Error (ffmpeg's last words).
	Status Status `bson:"status" json:"status"`
	Error  string `bson:"error,omitempty" json:"error,omitempty"`
	// Duration in seconds, known once packaged.
	Duration float64 `bson:"duration,omitempty" json:"duration,omitempty"`
	// VOD says where the packaged video is, once ready.
	VOD *VOD `bson:"vod,omitempty" json:"vod,omitempty"`
	// CreatedAt and UpdatedAt are maintained by the library.
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt time.Time `bson:"updated_at" json:"updated_at"`
}

// VOD locates a packaged recording in media storage.
type VOD struct {
	// Prefix is the storage path relative to the tenant's root, ending in
	// "/", e.g. "vod/rec1/r-5f2c/"; playback URLs are signed for it.
	Prefix string `bson:"prefix" json:"prefix"`
	// Master and Poster are file names under Prefix.
	Master string `bson:"master" json:"master"`
	Poster string `bson:"poster,omitempty" json:"poster,omitempty"`
	// Width and Height of the top rendition; Renditions how many there are.
	Width      int `bson:"width,omitempty" json:"width,omitempty"`
	Height     int `bson:"height,omitempty" json:"height,omitempty"`
	Renditions int `bson:"renditions,omitempty" json:"renditions,omitempty"`
}

// Course is an ordered list of lessons.
type Course struct {
	// ID is "track-<slug>" for a track's default course, random otherwise.
	ID          string `bson:"id" json:"id"`
	Title       string `bson:"title" json:"title"`
	Description string `bson:"description,omitempty" json:"description,omitempty"`
	// Track is the schedule track a default course collects.
	Track   string   `bson:"track,omitempty" json:"track,omitempty"`
	Lessons []Lesson `bson:"lessons" json:"lessons"`
	// Threshold overrides Config.CompletionThreshold for this course's
	// lessons when in (0, 1].
	Threshold float64   `bson:"threshold,omitempty" json:"threshold,omitempty"`
	CreatedAt time.Time `bson:"created_at" json:"created_at"`
	UpdatedAt time.Time `bson:"updated_at" json:"updated_at"`
}

// Lesson is one recording in a course.
type Lesson struct {
	Recording string `bson:"recording" json:"recording"`
	Title     string `bson:"title" json:"title"`
}

// Enrolment says a learner takes a course.
type Enrolment struct {
	Course     string    `bson:"course" json:"course"`
	User       string    `bson:"user" json:"user"`
	Name       string    `bson:"name,omitempty" json:"name,omitempty"`
	EnrolledAt time.Time `bson:"enrolled_at" json:"enrolled_at"`
}

// Progress is one learner's progress through one recording.
type Progress struct {
	User      string    `bson:"user" json:"user"`
	Recording string    `bson:"recording" json:"recording"`
	Segments  []Segment `bson:"segments" json:"segments"`
	// Duration is the recording's length the fraction was computed with.
	Duration float64 `bson:"duration" json:"duration"`
	// Fraction is covered seconds / Duration.
	Fraction float64 `bson:"fraction" json:"fraction"`
	// UpdatedAt is when the latest statement was stored.
	UpdatedAt time.Time `bson:"updated_at" json:"updated_at"`
}

// LessonProgress is a lesson's state for one learner.
type LessonProgress struct {
	Recording string  `json:"recording"`
	Title     string  `json:"title"`
	Fraction  float64 `json:"fraction"`
	Complete  bool    `json:"complete"`
}

// CourseProgress is a course's state for one learner.
type CourseProgress struct {
	Course      string           `json:"course"`
	User        string           `json:"user"`
	Enrolled    bool             `json:"enrolled"`
	Threshold   float64          `json:"threshold"`
	Lessons     []LessonProgress `json:"lessons"`
	Complete    bool             `json:"complete"`
	Certificate *Certificate     `json:"certificate,omitempty"`
}

// Certificate attests that a learner completed a course.
type Certificate struct {
	// Code is the public verification code, e.g. "7KQ2-M9XD-4TPA-HB3E".
	Code        string    `bson:"code" json:"code"`
	Tenant      string    `bson:"-" json:"tenant"`
	User        string    `bson:"user" json:"user"`
	Name        string    `bson:"name" json:"name"`
	Course      string    `bson:"course" json:"course"`
	CourseTitle string    `bson:"course_title" json:"course_title"`
	Lessons     int       `bson:"lessons" json:"lessons"`
	IssuedAt    time.Time `bson:"issued_at" json:"issued_at"`
}
