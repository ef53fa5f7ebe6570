package schedule

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML shapes of frab/pentabarf schedule.xml. Every field is a string so that
// decoding never fails on content; resolve validates the values. Elements
// the model does not use are skipped by encoding/xml.
type (
	xmlConference struct {
		Acronym          string     `xml:"acronym"`
		Title            string     `xml:"title"`
		Subtitle         string     `xml:"subtitle"`
		Venue            string     `xml:"venue"`
		City             string     `xml:"city"`
		Start            string     `xml:"start"`
		End              string     `xml:"end"`
		DayChange        string     `xml:"day_change"`
		TimeslotDuration string     `xml:"timeslot_duration"`
		BaseURL          string     `xml:"base_url"`
		URL              string     `xml:"url"`
		TimeZoneName     string     `xml:"time_zone_name"`
		Tracks           []xmlTrack `xml:"track"`
	}

	// xmlTrack is both the c3voc form <track name=".." slug=".." color=".."/>
	// and FOSDEM's <track slug="..">Name</track>.
	xmlTrack struct {
		Name  string `xml:"name,attr"`
		Slug  string `xml:"slug,attr"`
		Color string `xml:"color,attr"`
		Text  string `xml:",chardata"`
	}

	xmlEvent struct {
		GUID        string        `xml:"guid,attr"`
		ID          string        `xml:"id,attr"`
		Code        string        `xml:"code,attr"`
		Date        string        `xml:"date"`
		Start       string        `xml:"start"`
		End         string        `xml:"end"`
		Duration    string        `xml:"duration"`
		Room        string        `xml:"room"`
		Slug        string        `xml:"slug"`
		URL         string        `xml:"url"`
		Title       string        `xml:"title"`
		Subtitle    string        `xml:"subtitle"`
		Track       xmlTrack      `xml:"track"`
		Type        string        `xml:"type"`
		Language    string        `xml:"language"`
		Abstract    string        `xml:"abstract"`
		Description string        `xml:"description"`
		Logo        string        `xml:"logo"`
		FeedbackURL string        `xml:"feedback_url"`
		OriginURL   string        `xml:"origin_url"`
		Persons     []xmlPerson   `xml:"persons>person"`
		Links       []xmlLink     `xml:"links>link"`
		Attachments []xmlLink     `xml:"attachments>attachment"`
		Recording   *xmlRecording `xml:"recording"`
	}

	// xmlPerson is both an event's <person id="1">Name</person> and an entry
	// of FOSDEM's top-level <persons> list with child elements.
	xmlPerson struct {
		ID        string `xml:"id,attr"`
		GUID      string `xml:"guid,attr"`
		Text      string `xml:",chardata"`
		Name      string `xml:"name"`
		Slug      string `xml:"slug"`
		Biography string `xml:"biography"`
	}

	xmlLink struct {
		Href string `xml:"href,attr"`
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	}

	xmlRecording struct {
		License string `xml:"license"`
		Optout  string `xml:"optout"`
	}
)

// frabDecoder streams a schedule.xml: the document is walked token by token
// so that every event is decoded with the line it starts on, and the event
// limit stops a huge file early.
type frabDecoder struct {
	d   *xml.Decoder
	lim Limits
	raw *rawSchedule
}

// decodeFrabXML extracts a rawSchedule from a schedule.xml. Strict mode
// rejects malformed XML; there is no DTD processing, so no entity
// expansion attacks.
func decodeFrabXML(data []byte, lim Limits) (*rawSchedule, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	raw := &rawSchedule{format: FormatFrabXML}
	raw.conf.at = where{offset: -1, path: "schedule/conference", sep: "/"} // until <conference> is read
	p := &frabDecoder{d: d, lim: lim, raw: raw}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.raw, nil
}

// here is the decoder's current position, for errors.
func (p *frabDecoder) here(path string) where {
	l, c := p.d.InputPos()
	return where{line: l, col: c, offset: -1, path: path, sep: "/"}
}

// syntax converts a decoder error into a *ParseError.
func (p *frabDecoder) syntax(err error, path string) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &ParseError{Format: FormatFrabXML, Line: se.Line, Offset: -1, Path: path, Msg: se.Msg, Err: err}
	}
	if errors.Is(err, io.EOF) {
		w := p.here(path)
		return errAt(FormatFrabXML, w, err, "unexpected end of document")
	}
	return errAt(FormatFrabXML, p.here(path), err, "%v", err)
}

// next returns the next start or end element, skipping text, comments,
// processing instructions and directives. At the end of input it returns
// (nil, io.EOF).
func (p *frabDecoder) next() (xml.Token, error) {
	for {
		tok, err := p.d.Token()
		if err != nil {
			return nil, err
		}
		switch tok.(type) {
		case xml.StartElement, xml.EndElement:
			return tok, nil
		}
	}
}

// document checks the root element, reads it, and refuses anything but
// comments after it.
func (p *frabDecoder) document() error {
	tok, err := p.next()
	if errors.Is(err, io.EOF) {
		return errAt(FormatFrabXML, p.here(""), nil, "no root element")
	}
	if err != nil {
		return p.syntax(err, "")
	}
	root, ok := tok.(xml.StartElement)
	if !ok || root.Name.Local != "schedule" {
		return errAt(FormatFrabXML, p.here(""), nil, "root element is <%s>, want <schedule>", name(tok))
	}
	if err := p.schedule(); err != nil {
		return err
	}
	if len(p.raw.days) == 0 {
		return errAt(FormatFrabXML, p.here("schedule"), nil, "no <day> elements")
	}
	// Only comments and white space may follow the root element.
	tok, err = p.next()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return p.syntax(err, "")
	default:
		return errAt(FormatFrabXML, p.here(""), nil, "unexpected <%s> after the root element", name(tok))
	}
}

// name renders an element token for messages.
func name(tok xml.Token) string {
	switch t := tok.(type) {
	case xml.StartElement:
		return t.Name.Local
	case xml.EndElement:
		return "/" + t.Name.Local
	}
	return "?"
}

// schedule reads the children of <schedule> until its end tag. Unknown
// elements are skipped: exporters add their own (FOSDEM, c3voc).
func (p *frabDecoder) schedule() error {
	for {
		tok, err := p.next()
		if err != nil {
			return p.syntax(err, "schedule")
		}
		el, ok := tok.(xml.StartElement)
		if !ok {
			return nil // </schedule>
		}
		path := "schedule/" + el.Name.Local
		switch el.Name.Local {
		case "version":
			err = p.d.DecodeElement(&p.raw.version, &el)
		case "conference":
			err = p.conference(&el)
		case "tracks": // FOSDEM: a top-level track list
			var v struct {
				Tracks []xmlTrack `xml:"track"`
			}
			err = p.d.DecodeElement(&v, &el)
			p.addTracks(v.Tracks)
		case "persons": // FOSDEM: a top-level person list
			var v struct {
				Persons []xmlPerson `xml:"person"`
			}
			err = p.d.DecodeElement(&v, &el)
			for _, x := range v.Persons {
				p.raw.people = append(p.raw.people, x.speaker())
			}
		case "day":
			err = p.day(&el)
		default:
			err = p.d.Skip()
		}
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				return err
			}
			return p.syntax(err, path)
		}
	}
}

// conference reads <conference> with its c3voc-style <track> children.
func (p *frabDecoder) conference(el *xml.StartElement) error {
	at := p.here("schedule/conference")
	var c xmlConference
	if err := p.d.DecodeElement(&c, el); err != nil {
		return err
	}
	p.raw.conf = rawConference{
		at: at, acronym: c.Acronym, title: c.Title, subtitle: c.Subtitle, venue: c.Venue, city: c.City,
		start: c.Start, end: c.End, dayChange: c.DayChange, timeslot: c.TimeslotDuration,
		baseURL: c.BaseURL, url: c.URL, timeZone: c.TimeZoneName,
	}
	p.addTracks(c.Tracks)
	return nil
}

// addTracks records declared tracks; the name is the attribute (c3voc) or
// the text (FOSDEM).
func (p *frabDecoder) addTracks(ts []xmlTrack) {
	for _, t := range ts {
		n := t.Name
		if strings.TrimSpace(n) == "" {
			n = t.Text
		}
		p.raw.tracks = append(p.raw.tracks, Track{Name: n, Slug: t.Slug, Color: t.Color})
	}
}

// attr returns the value of an element's attribute, or "".
func attr(el *xml.StartElement, name string) string {
	for _, a := range el.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// day reads one <day> and its <room> children.
func (p *frabDecoder) day(el *xml.StartElement) error {
	if len(p.raw.days) >= p.lim.MaxDays {
		return errAt(FormatFrabXML, p.here("schedule/day"), ErrLimit, "more than %d days", p.lim.MaxDays)
	}
	idx := attr(el, "index")
	path := fmt.Sprintf("day[%d]", len(p.raw.days)+1)
	if idx != "" {
		path = fmt.Sprintf("day[index=%s]", idx)
	}
	p.raw.days = append(p.raw.days, rawDay{
		at: p.here(path), index: idx, date: attr(el, "date"), start: attr(el, "start"), end: attr(el, "end"),
	})
	day := &p.raw.days[len(p.raw.days)-1]
	for {
		tok, err := p.next()
		if err != nil {
			return p.syntax(err, path)
		}
		child, ok := tok.(xml.StartElement)
		if !ok {
			return nil // </day>
		}
		if child.Name.Local != "room" {
			if err := p.d.Skip(); err != nil {
				return p.syntax(err, path)
			}
			continue
		}
		if err := p.room(day, &child, path); err != nil {
			return err
		}
	}
}

// room reads one <room> and decodes its events, each with the line it
// starts on.
func (p *frabDecoder) room(day *rawDay, el *xml.StartElement, dayPath string) error {
	roomName := attr(el, "name")
	path := fmt.Sprintf("%s/room[%s]", dayPath, roomName)
	if len(p.raw.rooms) >= p.lim.MaxRooms*p.lim.MaxDays { // a room per day at most
		return errAt(FormatFrabXML, p.here(path), ErrLimit, "more than %d room elements", len(p.raw.rooms))
	}
	p.raw.rooms = append(p.raw.rooms, Room{Name: roomName, Slug: attr(el, "slug"), GUID: attr(el, "guid")})
	for {
		tok, err := p.next()
		if err != nil {
			return p.syntax(err, path)
		}
		child, ok := tok.(xml.StartElement)
		if !ok {
			return nil // </room>
		}
		if child.Name.Local != "event" {
			if err := p.d.Skip(); err != nil {
				return p.syntax(err, path)
			}
			continue
		}
		p.raw.events++
		evPath := path + "/event"
		switch {
		case attr(&child, "guid") != "":
			evPath += "[guid=" + attr(&child, "guid") + "]"
		case attr(&child, "id") != "":
			evPath += "[id=" + attr(&child, "id") + "]"
		}
		at := p.here(evPath)
		if p.raw.events > p.lim.MaxEvents {
			return errAt(FormatFrabXML, at, ErrLimit, "more than %d events", p.lim.MaxEvents)
		}
		var x xmlEvent
		if err := p.d.DecodeElement(&x, &child); err != nil {
			return p.syntax(err, evPath)
		}
		day.events = append(day.events, x.raw(at, roomName))
	}
}

// raw converts a decoded event. A <recording><optout> of "true" or "1"
// marks the session as not to be recorded.
func (x *xmlEvent) raw(at where, groupRoom string) rawEvent {
	e := rawEvent{
		at: at, groupRoom: groupRoom, guid: x.GUID, id: x.ID, code: x.Code, slug: x.Slug, url: x.URL,
		date: x.Date, start: x.Start, end: x.End, duration: x.Duration, room: x.Room,
		title: x.Title, subtitle: x.Subtitle, track: x.Track.Text, trackSlug: x.Track.Slug,
		typ: x.Type, language: x.Language, abstract: x.Abstract, description: x.Description,
		logo: x.Logo, feedbackURL: x.FeedbackURL, originURL: x.OriginURL,
	}
	if strings.TrimSpace(e.track) == "" {
		e.track = x.Track.Name
	}
	if x.Recording != nil {
		e.license = x.Recording.License
		e.optOut = strings.EqualFold(strings.TrimSpace(x.Recording.Optout), "true") ||
			strings.TrimSpace(x.Recording.Optout) == "1"
	}
	for _, ps := range x.Persons {
		e.persons = append(e.persons, ps.speaker())
	}
	for _, l := range x.Links {
		e.links = append(e.links, Link{URL: l.Href, Title: l.Text, Type: l.Type})
	}
	for _, l := range x.Attachments {
		e.attachments = append(e.attachments, Link{URL: l.Href, Title: l.Text, Type: l.Type})
	}
	return e
}

// speaker converts a person of either form (text or child elements).
func (x *xmlPerson) speaker() Speaker {
	n := x.Name
	if strings.TrimSpace(n) == "" {
		n = x.Text
	}
	return Speaker{ID: x.ID, GUID: x.GUID, Name: n, Slug: x.Slug, Biography: x.Biography}
}

// charsetReader lets encoding/xml read the non-UTF-8 encodings old
// pentabarf installations declare. Only ASCII and ISO-8859-1 are needed.
func charsetReader(charset string, in io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "us-ascii", "ascii":
		return in, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1":
		return &latin1Reader{r: in}, nil
	default:
		return nil, fmt.Errorf("unsupported XML encoding %q (use UTF-8)", charset)
	}
}

// latin1Reader decodes ISO-8859-1 to UTF-8: each byte is the code point.
type latin1Reader struct {
	r   io.Reader
	buf []byte
	out []byte
}

// Read implements io.Reader.
func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if cap(l.buf) == 0 {
			l.buf = make([]byte, 4096)
		}
		n, err := l.r.Read(l.buf[:cap(l.buf)])
		for _, c := range l.buf[:n] {
			l.out = append(l.out, string(rune(c))...)
		}
		if n == 0 && err != nil {
			return 0, err
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}
