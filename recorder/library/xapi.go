package library

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// xAPI Video Profile (https://w3id.org/xapi/video) identifiers.
const (
	VerbInitialized = "http://adlnet.gov/expapi/verbs/initialized"
	VerbPlayed      = "https://w3id.org/xapi/video/verbs/played"
	VerbPaused      = "https://w3id.org/xapi/video/verbs/paused"
	VerbSeeked      = "https://w3id.org/xapi/video/verbs/seeked"
	VerbCompleted   = "http://adlnet.gov/expapi/verbs/completed"
	VerbTerminated  = "http://adlnet.gov/expapi/verbs/terminated"
	VerbInteracted  = "http://adlnet.gov/expapi/verbs/interacted"

	ExtPlayedSegments = "https://w3id.org/xapi/video/extensions/played-segments"
	ExtTime           = "https://w3id.org/xapi/video/extensions/time"
	ExtProgress       = "https://w3id.org/xapi/video/extensions/progress"
	ExtLength         = "https://w3id.org/xapi/video/extensions/length"
	ExtSessionID      = "https://w3id.org/xapi/video/extensions/session-id"

	ActivityTypeVideo = "https://w3id.org/xapi/video/activity-type/video"

	// XAPIVersion is the xAPI version spoken, sent as X-Experience-API-Version.
	XAPIVersion = "1.0.3"
)

// videoVerbs are the verbs the library accepts.
var videoVerbs = map[string]string{
	VerbInitialized: "initialized",
	VerbPlayed:      "played",
	VerbPaused:      "paused",
	VerbSeeked:      "seeked",
	VerbCompleted:   "completed",
	VerbTerminated:  "terminated",
	VerbInteracted:  "interacted",
}

// RecordingActivityPrefix starts the activity IRI the player uses for a
// recording: "urn:plenary:recording:<id>". IRIs ending in
// "/recordings/<id>" are accepted too.
const RecordingActivityPrefix = "urn:plenary:recording:"

// Statement is an xAPI statement as the player sends it. Unknown members are
// not kept; the library stores and forwards what it understood.
type Statement struct {
	ID        string    `json:"id,omitempty"`
	Actor     Agent     `json:"actor"`
	Verb      Verb      `json:"verb"`
	Object    Activity  `json:"object"`
	Result    *Result   `json:"result,omitempty"`
	Context   *XContext `json:"context,omitempty"`
	Timestamp string    `json:"timestamp,omitempty"`
	Stored    string    `json:"stored,omitempty"`
	Authority *Agent    `json:"authority,omitempty"`
	Version   string    `json:"version,omitempty"`
}

// Agent is an xAPI actor.
type Agent struct {
	ObjectType string   `json:"objectType,omitempty"`
	Name       string   `json:"name,omitempty"`
	Mbox       string   `json:"mbox,omitempty"`
	Account    *Account `json:"account,omitempty"`
}

// Account identifies an agent by an account on a system.
type Account struct {
	HomePage string `json:"homePage"`
	Name     string `json:"name"`
}

// Verb is an xAPI verb.
type Verb struct {
	ID      string            `json:"id"`
	Display map[string]string `json:"display,omitempty"`
}

// Activity is the statement's object.
type Activity struct {
	ObjectType string              `json:"objectType,omitempty"`
	ID         string              `json:"id"`
	Definition *ActivityDefinition `json:"definition,omitempty"`
}

// ActivityDefinition describes an activity.
type ActivityDefinition struct {
	Type string            `json:"type,omitempty"`
	Name map[string]string `json:"name,omitempty"`
}

// Result carries the Video Profile's result extensions.
type Result struct {
	Completion *bool          `json:"completion,omitempty"`
	Duration   string         `json:"duration,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// XContext carries context extensions (length, session-id) and the
// registration.
type XContext struct {
	Registration string         `json:"registration,omitempty"`
	Extensions   map[string]any `json:"extensions,omitempty"`
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RecordingActivity is the activity IRI of a recording.
func RecordingActivity(id string) string { return RecordingActivityPrefix + id }

// recordingOf extracts the recording ID from an activity IRI.
func recordingOf(iri string) (string, bool) {
	if id, ok := strings.CutPrefix(iri, RecordingActivityPrefix); ok {
		return id, id != ""
	}
	if i := strings.LastIndex(iri, "/recordings/"); i >= 0 {
		id := strings.TrimSuffix(iri[i+len("/recordings/"):], "/")
		if id != "" && !strings.ContainsAny(id, "/?#") {
			return id, true
		}
	}
	return "", false
}

// playedSegments returns the statement's played-segments, if any.
func (s *Statement) playedSegments() ([]Segment, error) {
	if s.Result == nil || s.Result.Extensions == nil {
		return nil, nil
	}
	v, ok := s.Result.Extensions[ExtPlayedSegments]
	if !ok {
		return nil, nil
	}
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("%w: played-segments is not a string", ErrSegments)
	}
	return ParseSegments(str)
}

// length returns the context's length extension in seconds, or 0.
func (s *Statement) length() float64 {
	if s.Context == nil || s.Context.Extensions == nil {
		return 0
	}
	if v, ok := s.Context.Extensions[ExtLength].(float64); ok && v > 0 && v < 1e7 {
		return v
	}
	return 0
}

// normalize validates a statement received from learner user and makes it
// the server's: the actor is replaced by the authenticated learner (the
// body's actor is never trusted), ID, timestamp, stored, authority and
// version are filled in. It returns the recording the statement is about.
func (s *Statement) normalize(homePage, user, name string, now time.Time) (string, error) {
	switch {
	case s.ID == "":
		s.ID = newUUID()
	case !uuidRE.MatchString(s.ID):
		return "", fmt.Errorf("%w: statement id %q is not a UUID", ErrInvalid, s.ID)
	}
	s.ID = strings.ToLower(s.ID)
	if _, ok := videoVerbs[s.Verb.ID]; !ok {
		return "", fmt.Errorf("%w: verb %q is not a video profile verb", ErrInvalid, s.Verb.ID)
	}
	rec, ok := recordingOf(s.Object.ID)
	if !ok {
		return "", fmt.Errorf("%w: object %q is not a recording", ErrInvalid, s.Object.ID)
	}
	if _, err := s.playedSegments(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	s.Actor = Agent{ObjectType: "Agent", Name: name, Account: &Account{HomePage: homePage, Name: user}}
	s.Authority = &Agent{ObjectType: "Agent", Name: "Plenary", Account: &Account{HomePage: homePage, Name: "plenary"}}
	if s.Verb.Display == nil {
		s.Verb.Display = map[string]string{"en-US": videoVerbs[s.Verb.ID]}
	}
	if s.Object.ObjectType == "" {
		s.Object.ObjectType = "Activity"
	}
	stamp := now.UTC().Format(time.RFC3339Nano)
	if _, err := time.Parse(time.RFC3339Nano, s.Timestamp); err != nil {
		s.Timestamp = stamp
	}
	s.Stored = stamp
	s.Version = XAPIVersion
	return rec, nil
}

// decodeStatements reads a single statement or an array of them.
func decodeStatements(body []byte) ([]Statement, error) {
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		var out []Statement
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return out, nil
	}
	var one Statement
	if err := json.Unmarshal(body, &one); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return []Statement{one}, nil
}
