package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// Kind is one kind of timed action.
type Kind uint8

// Kinds of actions. The zero value is KindUnknown.
const (
	// KindUnknown is the zero value; never planned.
	KindUnknown Kind = iota
	// KindReminder notifies the attendees who starred the session.
	KindReminder
	// KindStageOpen opens the session's stage room before it starts.
	KindStageOpen
	// KindRecordingStart asks the recorder to start recording.
	KindRecordingStart
	// KindRecordingStop asks the recorder to stop recording.
	KindRecordingStop
	// KindQAClose closes the session's Q&A after it ends.
	KindQAClose
)

// Kinds lists every plannable kind in the order a session's actions happen.
var Kinds = []Kind{KindReminder, KindStageOpen, KindRecordingStart, KindRecordingStop, KindQAClose}

var kindNames = [...]string{"unknown", "reminder", "stage.open", "recording.start", "recording.stop", "qa.close"}

// String returns the wire name ("stage.open"), used as Job.Kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind parses a wire name.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if i > 0 && n == s {
			return Kind(i), nil
		}
	}
	return KindUnknown, fmt.Errorf("unknown action kind %q", s)
}

// Defaults of Offsets.
const (
	DefaultReminder      = 10 * time.Minute
	DefaultStageOpen     = 15 * time.Minute
	DefaultRecordingLead = time.Minute
	DefaultRecordingTail = 2 * time.Minute
	DefaultQAClose       = 10 * time.Minute
)

// Offsets place the actions around a session. Every replica must use the
// same offsets: the planned instant is part of an action's identity. Zero
// fields mean the defaults given on each; a negative field disables the
// action.
type Offsets struct {
	// Reminder is how long before the start attendees are reminded
	// (default 10m).
	Reminder time.Duration
	// StageOpen is how long before the start the stage opens (default 15m).
	StageOpen time.Duration
	// RecordingLead is how long before the start recording begins
	// (default 1m).
	RecordingLead time.Duration
	// RecordingTail is how long after the end recording stops (default 2m).
	RecordingTail time.Duration
	// QAClose is how long after the end the Q&A closes (default 10m).
	QAClose time.Duration
}

func (o Offsets) withDefaults() Offsets {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Reminder, DefaultReminder)
	def(&o.StageOpen, DefaultStageOpen)
	def(&o.RecordingLead, DefaultRecordingLead)
	def(&o.RecordingTail, DefaultRecordingTail)
	def(&o.QAClose, DefaultQAClose)
	return o
}

// Planned is one action of a session at its planned instant.
type Planned struct {
	Kind Kind
	At   time.Time
}

// Plan returns the actions of session s (after applying defaults to o), in
// Kinds order. A session that opted out of recording gets no recording
// actions.
func (o Offsets) Plan(s *schedule.Session) []Planned {
	o = o.withDefaults()
	out := make([]Planned, 0, len(Kinds))
	add := func(k Kind, off time.Duration, at time.Time) {
		if off >= 0 {
			out = append(out, Planned{Kind: k, At: at.UTC().Truncate(time.Second)})
		}
	}
	add(KindReminder, o.Reminder, s.Start.Add(-o.Reminder))
	add(KindStageOpen, o.StageOpen, s.Start.Add(-o.StageOpen))
	if !s.RecordingOptOut {
		add(KindRecordingStart, o.RecordingLead, s.Start.Add(-o.RecordingLead))
		add(KindRecordingStop, o.RecordingTail, s.End().Add(o.RecordingTail))
	}
	add(KindQAClose, o.QAClose, s.End().Add(o.QAClose))
	return out
}

// Has reports whether s still plans action k at instant at: the version
// check that makes the job of a moved or cancelled session a no-op.
func (o Offsets) Has(s *schedule.Session, k Kind, at time.Time) bool {
	for _, p := range o.Plan(s) {
		if p.Kind == k && p.At.Equal(at) {
			return true
		}
	}
	return false
}

// Key is the identity of one action: its kind and a hash of tenant,
// convention, session guid, kind and planned instant. It is the queue
// idempotency key, the fired-record key and the id of the action's effects.
// The tenant is part of it because queue idempotency keys are not
// tenant-scoped.
func Key(t tenant.ID, slug, guid string, k Kind, at time.Time) string {
	h := sha256.New()
	for _, part := range []string{string(t), slug, guid, k.String(), strconv.FormatInt(at.Unix(), 10)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return k.String() + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}
