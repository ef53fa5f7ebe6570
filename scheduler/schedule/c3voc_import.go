package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// JSON shapes of the c3voc schedule format (frab, pretalx and the c3voc hub
// write it; see c3voc-schedule.schema.json). Scalars are flexString because
// real exporters disagree on types (39C3 writes some ids as strings, pretalx
// writes null subtitles); resolve validates the values.
type (
	jsonDoc struct {
		Schedule *jsonSchedule `json:"schedule"`
	}

	jsonSchedule struct {
		Version    flexString      `json:"version"`
		BaseURL    flexString      `json:"base_url"`
		Conference *jsonConference `json:"conference"`
	}

	jsonConference struct {
		Acronym          flexString        `json:"acronym"`
		Title            flexString        `json:"title"`
		Subtitle         flexString        `json:"subtitle"`
		Start            flexString        `json:"start"`
		End              flexString        `json:"end"`
		DayChange        flexString        `json:"day_change"`
		TimeslotDuration flexString        `json:"timeslot_duration"`
		TimeZoneName     flexString        `json:"time_zone_name"`
		URL              flexString        `json:"url"`
		BaseURL          flexString        `json:"base_url"`
		Tracks           []jsonTrack       `json:"tracks"`
		Rooms            []jsonRoom        `json:"rooms"`
		Days             []json.RawMessage `json:"days"`
	}

	jsonTrack struct {
		Name  flexString `json:"name"`
		Slug  flexString `json:"slug"`
		Color flexString `json:"color"`
	}

	jsonRoom struct {
		Name flexString `json:"name"`
		Slug flexString `json:"slug"`
		GUID flexString `json:"guid"`
	}

	jsonDay struct {
		Index    flexString      `json:"index"`
		Date     flexString      `json:"date"`
		DayStart flexString      `json:"day_start"`
		DayEnd   flexString      `json:"day_end"`
		Rooms    json.RawMessage `json:"rooms"`
	}

	jsonEvent struct {
		GUID             flexString   `json:"guid"`
		ID               flexString   `json:"id"`
		Code             flexString   `json:"code"`
		Date             flexString   `json:"date"`
		Start            flexString   `json:"start"`
		End              flexString   `json:"end"`
		Duration         flexString   `json:"duration"`
		Room             flexString   `json:"room"`
		Slug             flexString   `json:"slug"`
		URL              flexString   `json:"url"`
		Title            flexString   `json:"title"`
		Subtitle         flexString   `json:"subtitle"`
		Track            flexString   `json:"track"`
		Type             flexString   `json:"type"`
		Language         flexString   `json:"language"`
		Abstract         flexString   `json:"abstract"`
		Description      flexString   `json:"description"`
		Logo             flexString   `json:"logo"`
		FeedbackURL      flexString   `json:"feedback_url"`
		OriginURL        flexString   `json:"origin_url"`
		RecordingLicense flexString   `json:"recording_license"`
		DoNotRecord      flexString   `json:"do_not_record"`
		Persons          []jsonPerson `json:"persons"`
		Links            []jsonLink   `json:"links"`
		Attachments      []jsonLink   `json:"attachments"`
	}

	jsonPerson struct {
		GUID       flexString `json:"guid"`
		ID         flexString `json:"id"`
		Name       flexString `json:"name"`
		PublicName flexString `json:"public_name"`
		Biography  flexString `json:"biography"`
		Avatar     flexString `json:"avatar"`
		URL        flexString `json:"url"`
	}

	jsonLink struct {
		URL   flexString `json:"url"`
		Title flexString `json:"title"`
		Type  flexString `json:"type"`
	}
)

// flexString accepts a JSON string, number, boolean or null as text.
type flexString string

var stringType = reflect.TypeFor[string]()

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case c == 'n': // null
		*f = ""
	case c == 't' || c == 'f' || c == '-' || c >= '0' && c <= '9':
		*f = flexString(b)
	case c == '[':
		return &json.UnmarshalTypeError{Value: "array", Type: stringType}
	default:
		return &json.UnmarshalTypeError{Value: "object", Type: stringType}
	}
	return nil
}

// UnmarshalJSON accepts a link object or a bare URL string.
func (l *jsonLink) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &l.URL)
	}
	type plain jsonLink // no methods: no recursion
	return json.Unmarshal(b, (*plain)(l))
}

// String returns the text.
func (s flexString) String() string { return string(s) }

// truthy reads the JSON booleans exporters write as true/false, "true",
// 1 or "yes".
func (s flexString) truthy() bool {
	switch string(s) {
	case "true", "True", "1", "yes":
		return true
	}
	return false
}

// c3vocDecoder decodes the JSON format, keeping track of JSON paths for
// error messages.
type c3vocDecoder struct {
	data []byte
	lim  Limits
	raw  *rawSchedule
}

// decodeC3VOCJSON extracts a rawSchedule from c3voc JSON. The document is
// decoded once into structs with days left raw, then each day and event is
// decoded on its own so errors can name their JSON path.
func decodeC3VOCJSON(data []byte, lim Limits) (*rawSchedule, error) {
	p := &c3vocDecoder{data: data, lim: lim, raw: &rawSchedule{format: FormatC3VOCJSON}}
	if err := p.document(); err != nil {
		return nil, err
	}
	return p.raw, nil
}

// jpath locates a JSON member by path, with no byte offset.
func jpath(path string) where { return where{offset: -1, path: path, sep: "."} }

// jsonErr converts an encoding/json error into a *ParseError. Offsets are
// only meaningful (and only used) for errors on the whole document.
func (p *c3vocDecoder) jsonErr(err error, path string, whole bool) error {
	w := jpath(path)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		if whole {
			w.offset = se.Offset
			w.line, w.col = lineCol(p.data, se.Offset)
		}
		return errAt(FormatC3VOCJSON, w, err, "%s", se.Error())
	case errors.As(err, &te):
		if whole {
			w.offset = te.Offset
			w.line, w.col = lineCol(p.data, te.Offset)
		}
		if te.Field != "" {
			w = w.child(te.Field)
		}
		return errAt(FormatC3VOCJSON, w, err, "got %s, want %s", te.Value, kindName(te.Type))
	default:
		return errAt(FormatC3VOCJSON, w, err, "%v", err)
	}
}

// kindName describes the JSON type a Go type expects, for messages.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string or number"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	default:
		return t.Kind().String()
	}
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(b []byte, off int64) (line, col int) {
	if off < 0 || off > int64(len(b)) {
		return 0, 0
	}
	before := b[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// document decodes the top level: schedule, conference, tracks, rooms,
// then each day.
func (p *c3vocDecoder) document() error {
	var doc jsonDoc
	if err := json.Unmarshal(p.data, &doc); err != nil {
		return p.jsonErr(err, "", true)
	}
	if doc.Schedule == nil {
		return errAt(FormatC3VOCJSON, jpath("schedule"), nil, "missing schedule object")
	}
	c := doc.Schedule.Conference
	if c == nil {
		return errAt(FormatC3VOCJSON, jpath("schedule.conference"), nil, "missing conference object")
	}
	if len(c.Days) == 0 {
		return errAt(FormatC3VOCJSON, jpath("schedule.conference.days"), nil, "no days")
	}
	if len(c.Days) > p.lim.MaxDays {
		return errAt(FormatC3VOCJSON, jpath("schedule.conference.days"), ErrLimit, "more than %d days", p.lim.MaxDays)
	}
	baseURL := c.BaseURL
	if baseURL == "" {
		baseURL = doc.Schedule.BaseURL
	}
	p.raw.version = doc.Schedule.Version.String()
	p.raw.conf = rawConference{
		at: jpath("schedule.conference"), acronym: c.Acronym.String(), title: c.Title.String(),
		subtitle: c.Subtitle.String(), start: c.Start.String(), end: c.End.String(),
		dayChange: c.DayChange.String(), timeslot: c.TimeslotDuration.String(),
		baseURL: baseURL.String(), url: c.URL.String(), timeZone: c.TimeZoneName.String(),
	}
	for _, t := range c.Tracks {
		p.raw.tracks = append(p.raw.tracks, Track{Name: t.Name.String(), Slug: t.Slug.String(), Color: t.Color.String()})
	}
	if len(c.Rooms) > p.lim.MaxRooms {
		return errAt(FormatC3VOCJSON, jpath("schedule.conference.rooms"), ErrLimit, "more than %d rooms", p.lim.MaxRooms)
	}
	for _, r := range c.Rooms {
		p.raw.rooms = append(p.raw.rooms, Room{Name: r.Name.String(), Slug: r.Slug.String(), GUID: r.GUID.String()})
	}
	for i, msg := range c.Days {
		if err := p.day(i, msg); err != nil {
			return err
		}
	}
	return nil
}

// day decodes days[i] and its rooms.
func (p *c3vocDecoder) day(i int, msg json.RawMessage) error {
	path := fmt.Sprintf("schedule.conference.days[%d]", i)
	var d jsonDay
	if err := json.Unmarshal(msg, &d); err != nil {
		return p.jsonErr(err, path, false)
	}
	p.raw.days = append(p.raw.days, rawDay{
		at: jpath(path), index: d.Index.String(), date: d.Date.String(),
		start: d.DayStart.String(), end: d.DayEnd.String(),
	})
	day := &p.raw.days[len(p.raw.days)-1]
	if len(bytes.TrimSpace(d.Rooms)) == 0 || bytes.Equal(bytes.TrimSpace(d.Rooms), []byte("null")) {
		return nil
	}
	return p.rooms(day, d.Rooms, path+".rooms")
}

// rooms walks the day's "rooms" object in document order (a Go map would
// lose the order the exporter chose for rooms).
func (p *c3vocDecoder) rooms(day *rawDay, msg json.RawMessage, path string) error {
	dec := json.NewDecoder(bytes.NewReader(msg))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errAt(FormatC3VOCJSON, jpath(path), err, "want an object of room name to event list")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return p.jsonErr(err, path, false)
		}
		roomName, _ := tok.(string) // object keys are always strings
		roomPath := path + "[" + strconv.Quote(roomName) + "]"
		var events []json.RawMessage
		if err := dec.Decode(&events); err != nil {
			return p.jsonErr(err, roomPath, false)
		}
		for k, ev := range events {
			p.raw.events++
			evPath := fmt.Sprintf("%s[%d]", roomPath, k)
			if p.raw.events > p.lim.MaxEvents {
				return errAt(FormatC3VOCJSON, jpath(evPath), ErrLimit, "more than %d events", p.lim.MaxEvents)
			}
			var e jsonEvent
			if err := json.Unmarshal(ev, &e); err != nil {
				return p.jsonErr(err, evPath, false)
			}
			day.events = append(day.events, e.raw(jpath(evPath), roomName))
		}
	}
	return nil
}

// raw converts a decoded event; persons carry their profile fields so
// resolve can build Speakers from them. "name" wins over the deprecated
// "public_name".
func (e *jsonEvent) raw(at where, groupRoom string) rawEvent {
	r := rawEvent{
		at: at, groupRoom: groupRoom, guid: e.GUID.String(), id: e.ID.String(), code: e.Code.String(),
		slug: e.Slug.String(), url: e.URL.String(), date: e.Date.String(), start: e.Start.String(),
		end: e.End.String(), duration: e.Duration.String(), room: e.Room.String(),
		title: e.Title.String(), subtitle: e.Subtitle.String(), track: e.Track.String(),
		typ: e.Type.String(), language: e.Language.String(), abstract: e.Abstract.String(),
		description: e.Description.String(), logo: e.Logo.String(), feedbackURL: e.FeedbackURL.String(),
		originURL: e.OriginURL.String(), license: e.RecordingLicense.String(), optOut: e.DoNotRecord.truthy(),
	}
	for _, ps := range e.Persons {
		n := ps.Name
		if n == "" {
			n = ps.PublicName
		}
		r.persons = append(r.persons, Speaker{
			GUID: ps.GUID.String(), ID: ps.ID.String(), Name: n.String(),
			Biography: ps.Biography.String(), Avatar: ps.Avatar.String(), URL: ps.URL.String(),
		})
	}
	for _, l := range e.Links {
		r.links = append(r.links, Link{URL: l.URL.String(), Title: l.Title.String(), Type: l.Type.String()})
	}
	for _, l := range e.Attachments {
		r.attachments = append(r.attachments, Link{URL: l.URL.String(), Title: l.Title.String(), Type: l.Type.String()})
	}
	return r
}
