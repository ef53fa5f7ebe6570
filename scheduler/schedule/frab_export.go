package schedule

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Generator is the name exports give as their generator.
const Generator = "plenary"

// ExportFrabXML writes s as a frab schedule.xml. A schedule whose GUIDs are
// UUIDs exports to a document that validates against the c3voc
// schedule.xml.xsd: values the schema would reject (non-numeric or duplicate
// ids, malformed slugs and codes, relative URLs) are renumbered, sanitised or
// left out. Day indexes are renumbered 1..n. The day change is not written
// (the XSD has no element for it); importers derive it from day starts.
func ExportFrabXML(w io.Writer, s *Schedule) error {
	p, err := newExportPlan(s)
	if err != nil {
		return err
	}
	x := &xmlWriter{w: bufio.NewWriter(w)}
	x.raw(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	x.open("schedule")
	x.empty("generator", "name", Generator)
	version := s.Convention.Version
	if version == "" {
		version = "1.0"
	}
	x.leaf("version", version)
	p.frabConference(x)
	for i := range p.days {
		p.frabDay(x, &p.days[i])
	}
	x.close("schedule")
	return x.flush()
}

// frabConference writes <conference>. Its children form an XSD choice,
// so order is free; only schema-valid values are written.
func (p *exportPlan) frabConference(x *xmlWriter) {
	c := &p.s.Convention
	x.open("conference")
	if a := strings.ToLower(c.Slug); reAcronym.MatchString(a) {
		x.leaf("acronym", a)
	}
	x.leaf("title", c.Title)
	if len(p.days) > 0 {
		start, end := c.Start, c.End
		if _, err := parseDate(start); err != nil {
			start = p.days[0].Date
		}
		if _, err := parseDate(end); err != nil {
			end = p.days[len(p.days)-1].Date
		}
		x.leaf("start", start)
		x.leaf("end", end)
	}
	x.leaf("days", strconv.Itoa(len(p.days)))
	if c.TimeslotDuration > 0 && c.TimeslotDuration < 100*time.Hour {
		x.leaf("timeslot_duration", formatDuration(c.TimeslotDuration))
	}
	if u := httpURL(c.BaseURL); u != "" {
		x.leaf("base_url", u)
	}
	if u := httpURL(c.URL); u != "" {
		x.leaf("url", u)
	}
	if c.TimeZone != "" {
		x.leaf("time_zone_name", c.TimeZone)
	}
	for _, t := range p.s.Tracks {
		attrs := []string{"name", t.Name}
		if reHexColor.MatchString(t.Color) {
			attrs = append(attrs, "color", t.Color)
		}
		if reTrackSlug.MatchString(t.Slug) {
			attrs = append(attrs, "slug", t.Slug)
		}
		x.empty("track", attrs...)
	}
	x.close("conference")
}

// frabDay writes one <day> with the rooms that have sessions that day.
func (p *exportPlan) frabDay(x *xmlWriter, d *planDay) {
	x.open("day", "index", strconv.Itoa(d.Index), "date", d.Date,
		"start", localDateTime(d.Start, p.loc), "end", localDateTime(d.End, p.loc))
	for _, r := range d.rooms {
		attrs := []string{"name", r.Name}
		if isUUID(r.GUID) {
			attrs = append(attrs, "guid", r.GUID)
		}
		x.open("room", attrs...)
		for _, ses := range r.sessions {
			p.frabEvent(x, ses)
		}
		x.close("room")
	}
	x.close("day")
}

// frabEvent writes one <event>. The XSD makes its children an xs:all:
// each at most once, in any order; room, title, type, date, start,
// duration, abstract and track are required and always written.
func (p *exportPlan) frabEvent(x *xmlWriter, s *Session) {
	attrs := []string{"guid", s.GUID, "id", strconv.FormatInt(p.ids[s.GUID], 10)}
	if c := p.codes[s.GUID]; c != "" {
		attrs = append(attrs, "code", c)
	}
	x.open("event", attrs...)
	x.leaf("date", localDateTime(s.Start, p.loc))
	x.leaf("start", localClock(s.Start, p.loc))
	x.leaf("duration", formatDuration(s.Duration))
	x.leaf("room", s.Room)
	if slug := p.slugs[s.GUID]; reEventSlug.MatchString(slug) {
		x.leaf("slug", slug)
	}
	x.leaf("title", s.Title)
	x.leaf("subtitle", s.Subtitle)
	x.leaf("track", s.Track)
	x.leaf("type", s.Type)
	if s.Language != "" {
		x.leaf("language", s.Language)
	}
	x.leaf("abstract", s.Abstract)
	x.leaf("description", s.Description)
	if u := httpURL(s.Logo); u != "" {
		x.leaf("logo", u)
	}
	if len(s.Persons) > 0 {
		x.open("persons")
		for _, ps := range s.Persons {
			var pa []string
			if reInteger.MatchString(ps.ID) {
				pa = append(pa, "id", ps.ID)
			}
			if isUUID(ps.GUID) {
				pa = append(pa, "guid", ps.GUID)
			}
			x.leaf("person", ps.Name, pa...)
		}
		x.close("persons")
	}
	if s.RecordingOptOut || s.RecordingLicense != "" {
		x.open("recording")
		x.leaf("license", s.RecordingLicense)
		x.leaf("optout", strconv.FormatBool(s.RecordingOptOut))
		x.close("recording")
	}
	frabLinks(x, "links", "link", s.Links)
	frabLinks(x, "attachments", "attachment", s.Attachments)
	for _, f := range []struct{ name, v string }{
		{"url", s.URL}, {"feedback_url", s.FeedbackURL}, {"origin_url", s.OriginURL},
	} {
		if u := httpURL(f.v); u != "" {
			x.leaf(f.name, u)
		}
	}
	x.close("event")
}

// frabLinks writes <links> or <attachments>, omitted when empty.
func frabLinks(x *xmlWriter, list, item string, links []Link) {
	if len(links) == 0 {
		return
	}
	x.open(list)
	for _, l := range links {
		attrs := []string{"href", l.URL}
		if l.Type != "" {
			attrs = append(attrs, "type", l.Type)
		}
		x.leaf(item, l.Title, attrs...)
	}
	x.close(list)
}

// xmlWriter writes indented XML. The first write error is kept and
// returned by flush. Attributes are name/value pairs.
type xmlWriter struct {
	w     *bufio.Writer
	err   error
	depth int
}

// raw writes s unescaped.
func (x *xmlWriter) raw(s string) {
	if x.err == nil {
		_, x.err = x.w.WriteString(s)
	}
}

// indent writes the current indentation.
func (x *xmlWriter) indent() { x.raw(strings.Repeat("  ", x.depth)) }

// start writes "<name" and the escaped attributes, leaving the tag open.
func (x *xmlWriter) start(name string, attrs []string) {
	x.indent()
	x.raw("<" + name)
	for i := 0; i+1 < len(attrs); i += 2 {
		x.raw(" " + attrs[i] + `="`)
		x.raw(escapeXML(attrs[i+1], true))
		x.raw(`"`)
	}
}

// open writes a start tag on its own line and indents what follows.
func (x *xmlWriter) open(name string, attrs ...string) {
	x.start(name, attrs)
	x.raw(">\n")
	x.depth++
}

// close writes the end tag matching the last open.
func (x *xmlWriter) close(name string) {
	x.depth--
	x.indent()
	x.raw("</" + name + ">\n")
}

// leaf writes <name attrs>text</name> on one line (text may hold newlines).
func (x *xmlWriter) leaf(name, text string, attrs ...string) {
	x.start(name, attrs)
	x.raw(">")
	x.raw(escapeXML(text, false))
	x.raw("</" + name + ">\n")
}

// empty writes <name attrs/>.
func (x *xmlWriter) empty(name string, attrs ...string) {
	x.start(name, attrs)
	x.raw("/>\n")
}

// flush writes buffered output and returns the first error.
func (x *xmlWriter) flush() error {
	if x.err != nil {
		return x.err
	}
	return x.w.Flush()
}

// escapeXML escapes s for character data or (attr) a double-quoted
// attribute value. Control characters XML 1.0 does not allow are dropped;
// other non-characters and invalid UTF-8 become U+FFFD; so any text yields a
// well-formed document. In
// attributes, tab and newline are written as references so that attribute
// value normalisation does not turn them into spaces.
func escapeXML(s string, attr bool) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune('\uFFFD')
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\n' && attr:
			b.WriteString("&#xA;")
		case r == '\t' && attr:
			b.WriteString("&#x9;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20: // not allowed in XML 1.0, dropped as on import
		case r >= 0xD800 && r <= 0xDFFF, r == 0xFFFE, r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
