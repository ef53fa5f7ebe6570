package schedule

import (
	"io"
	"sort"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/scheduler/internal/ical"
)

// ExportICal writes s as an iCalendar object (RFC 5545) with one VEVENT per
// session. UID is the session GUID, DTSTART/DTEND are UTC date-times (FORM
// #2, section 3.3.5) so no VTIMEZONE is needed and every reader gets the
// same instants; stamp is written as every DTSTAMP (pass the time the
// schedule last changed to make the output reproducible).
func ExportICal(w io.Writer, s *Schedule, stamp time.Time) error {
	if s == nil {
		return errNilSchedule
	}
	iw := ical.NewWriter(w)
	iw.Begin("VCALENDAR")
	iw.Raw("VERSION", "2.0")
	iw.Raw("PRODID", "-//Plenary//Scheduler//EN")
	iw.Raw("CALSCALE", "GREGORIAN")
	iw.Raw("METHOD", "PUBLISH")
	if s.Convention.Title != "" {
		iw.Text("X-WR-CALNAME", s.Convention.Title)
	}
	if s.Convention.TimeZone != "" {
		iw.Text("X-WR-TIMEZONE", s.Convention.TimeZone)
	}
	sessions := make([]*Session, len(s.Sessions))
	for i := range s.Sessions {
		sessions[i] = &s.Sessions[i]
	}
	sort.SliceStable(sessions, func(i, j int) bool { return sessions[i].Start.Before(sessions[j].Start) })
	for _, ses := range sessions {
		icalEvent(iw, ses, stamp)
	}
	iw.End("VCALENDAR")
	return iw.Flush()
}

// icalEvent writes one VEVENT. SUMMARY is title and subtitle, LOCATION the
// room, CATEGORIES the track; URL only when it is an absolute http(s) URL.
func icalEvent(iw *ical.Writer, s *Session, stamp time.Time) {
	iw.Begin("VEVENT")
	iw.Text("UID", s.GUID)
	iw.UTC("DTSTAMP", stamp)
	iw.UTC("DTSTART", s.Start)
	iw.UTC("DTEND", s.End())
	summary := s.Title
	if s.Subtitle != "" {
		summary += " – " + s.Subtitle
	}
	iw.Text("SUMMARY", summary)
	if d := icalDescription(s); d != "" {
		iw.Text("DESCRIPTION", d)
	}
	iw.Text("LOCATION", s.Room)
	if s.Track != "" {
		// CATEGORIES is a list: escaping the track's commas keeps it one.
		iw.Text("CATEGORIES", s.Track)
	}
	if u := httpURL(s.URL); u != "" {
		iw.Raw("URL", u)
	}
	if s.Language != "" {
		iw.Raw("X-PLENARY-LANGUAGE", ical.EscapeText(s.Language))
	}
	iw.Raw("STATUS", "CONFIRMED")
	iw.Raw("TRANSP", "OPAQUE")
	iw.End("VEVENT")
}

// icalDescription joins speakers, abstract and description.
func icalDescription(s *Session) string {
	var parts []string
	if len(s.Persons) > 0 {
		names := make([]string, 0, len(s.Persons))
		for _, p := range s.Persons {
			names = append(names, p.Name)
		}
		parts = append(parts, strings.Join(names, ", "))
	}
	if s.Abstract != "" {
		parts = append(parts, s.Abstract)
	}
	if s.Description != "" && s.Description != s.Abstract {
		parts = append(parts, s.Description)
	}
	return strings.Join(parts, "\n\n")
}
