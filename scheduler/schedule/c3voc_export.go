package schedule

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
)

// C3VOCSchemaURL is the JSON schema exports point to in "$schema".
const C3VOCSchemaURL = "https://c3voc.de/schedule/schema.json"

// Output shapes of the c3voc JSON format, following
// c3voc-schedule.schema.json (additionalProperties is false on most
// objects, so nothing else is written).
type (
	outDoc struct {
		Schema    string       `json:"$schema"`
		Generator outGenerator `json:"generator"`
		Schedule  outSchedule  `json:"schedule"`
	}

	outGenerator struct {
		Name string `json:"name"`
	}

	outSchedule struct {
		Version    string        `json:"version"`
		BaseURL    string        `json:"base_url,omitempty"`
		Conference outConference `json:"conference"`
	}

	outConference struct {
		Acronym          string     `json:"acronym"`
		Title            string     `json:"title"`
		Start            string     `json:"start"`
		End              string     `json:"end"`
		DaysCount        int        `json:"daysCount"`
		TimeslotDuration string     `json:"timeslot_duration"`
		TimeZoneName     string     `json:"time_zone_name,omitempty"`
		URL              string     `json:"url,omitempty"`
		Tracks           []outTrack `json:"tracks"`
		Rooms            []outRoom  `json:"rooms"`
		Days             []outDay   `json:"days"`
	}

	outTrack struct {
		Name  string `json:"name"`
		Slug  string `json:"slug,omitempty"`
		Color string `json:"color,omitempty"`
	}

	outRoom struct {
		Name string `json:"name"`
		Slug string `json:"slug,omitempty"`
		GUID string `json:"guid,omitempty"`
	}

	outDay struct {
		Index    int         `json:"index"`
		Date     string      `json:"date"`
		DayStart string      `json:"day_start"`
		DayEnd   string      `json:"day_end"`
		Rooms    outDayRooms `json:"rooms"`
	}

	// outDayRooms marshals as an object whose keys keep the room order.
	outDayRooms []outDayRoom

	outDayRoom struct {
		name   string
		events []outEvent
	}

	outEvent struct {
		GUID             string      `json:"guid"`
		Code             string      `json:"code,omitempty"`
		ID               int64       `json:"id"`
		Logo             *string     `json:"logo"`
		Date             string      `json:"date"`
		Start            string      `json:"start"`
		End              string      `json:"end"`
		Duration         string      `json:"duration"`
		Room             string      `json:"room"`
		Slug             string      `json:"slug"`
		URL              string      `json:"url"`
		Title            string      `json:"title"`
		Subtitle         string      `json:"subtitle"`
		Track            *string     `json:"track"`
		Type             string      `json:"type"`
		Language         *string     `json:"language"`
		Abstract         string      `json:"abstract"`
		Description      string      `json:"description"`
		RecordingLicense string      `json:"recording_license,omitempty"`
		DoNotRecord      bool        `json:"do_not_record"`
		Persons          []outPerson `json:"persons"`
		Links            []outLink   `json:"links"`
		Attachments      []outLink   `json:"attachments,omitempty"`
		FeedbackURL      string      `json:"feedback_url,omitempty"`
		OriginURL        string      `json:"origin_url,omitempty"`
	}

	// outPerson is a "FrabPerson" (id + public_name) when the person has
	// only a numeric id, else a "PretalxPerson" (name, optional guid): the
	// schema's oneOf needs exactly one of the two to match.
	outPerson struct {
		GUID       string `json:"guid,omitempty"`
		ID         *int64 `json:"id,omitempty"`
		Name       string `json:"name,omitempty"`
		PublicName string `json:"public_name,omitempty"`
	}

	outLink struct {
		URL   string `json:"url"`
		Title string `json:"title,omitempty"`
		Type  string `json:"type,omitempty"`
	}
)

// referenceTypes are the link types the schema's Reference enum allows.
var referenceTypes = map[string]bool{
	"slides": true, "paper": true, "web": true, "blog": true,
	"article": true, "media": true, "related": true, "activitypub": true,
}

// MarshalJSON writes the rooms as an object in slice order.
func (r outDayRooms) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, room := range r {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(room.name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(room.events)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// ExportC3VOCJSON writes s in the c3voc schedule JSON format, with the same
// identifier clean-up as ExportFrabXML.
func ExportC3VOCJSON(w io.Writer, s *Schedule) error {
	p, err := newExportPlan(s)
	if err != nil {
		return err
	}
	c := &s.Convention
	version := c.Version
	if version == "" {
		version = "1.0"
	}
	conf := outConference{
		Acronym: c.Slug, Title: c.Title, Start: c.Start, End: c.End, DaysCount: len(p.days),
		TimeslotDuration: formatDuration(c.TimeslotDuration), TimeZoneName: c.TimeZone, URL: httpURL(c.URL),
		Tracks: []outTrack{}, Rooms: []outRoom{}, Days: []outDay{},
	}
	if len(p.days) > 0 {
		if _, err := parseDate(conf.Start); err != nil {
			conf.Start = p.days[0].Date
		}
		if _, err := parseDate(conf.End); err != nil {
			conf.End = p.days[len(p.days)-1].Date
		}
	}
	for _, t := range s.Tracks {
		ot := outTrack{Name: t.Name, Color: t.Color}
		if reJSONSlug.MatchString(t.Slug) {
			ot.Slug = t.Slug
		}
		conf.Tracks = append(conf.Tracks, ot)
	}
	for _, r := range s.Rooms {
		or := outRoom{Name: r.Name}
		if reJSONSlug.MatchString(r.Slug) {
			or.Slug = r.Slug
		}
		if isUUID(r.GUID) {
			or.GUID = r.GUID
		}
		conf.Rooms = append(conf.Rooms, or)
	}
	for i := range p.days {
		d := &p.days[i]
		od := outDay{
			Index: d.Index, Date: d.Date,
			DayStart: localDateTime(d.Start, p.loc), DayEnd: localDateTime(d.End, p.loc),
			Rooms: outDayRooms{},
		}
		for _, r := range d.rooms {
			room := outDayRoom{name: r.Name, events: []outEvent{}}
			for _, ses := range r.sessions {
				room.events = append(room.events, p.jsonEvent(ses))
			}
			od.Rooms = append(od.Rooms, room)
		}
		conf.Days = append(conf.Days, od)
	}
	doc := outDoc{
		Schema:    C3VOCSchemaURL,
		Generator: outGenerator{Name: Generator},
		Schedule:  outSchedule{Version: version, BaseURL: httpURL(c.BaseURL), Conference: conf},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// jsonEvent converts one session. Track and language are null rather than
// "" when unset, as frab writes them; slug is required by the schema, so a
// session without a valid one gets "<acronym>-<id>".
func (p *exportPlan) jsonEvent(s *Session) outEvent {
	e := outEvent{
		GUID: s.GUID, Code: p.codes[s.GUID], ID: p.ids[s.GUID],
		Date: localDateTime(s.Start, p.loc), Start: localClock(s.Start, p.loc),
		End: localDateTime(s.End(), p.loc), Duration: formatDuration(s.Duration),
		Room: s.Room, Slug: p.slugs[s.GUID], URL: s.URL, Title: s.Title, Subtitle: s.Subtitle,
		Type: s.Type, Abstract: s.Abstract, Description: s.Description,
		RecordingLicense: s.RecordingLicense, DoNotRecord: s.RecordingOptOut,
		Persons: []outPerson{}, Links: []outLink{},
		FeedbackURL: s.FeedbackURL, OriginURL: s.OriginURL,
	}
	if e.Slug == "" {
		e.Slug = sanitizeSlug(p.s.Convention.Slug + "-" + strconv.FormatInt(e.ID, 10))
	}
	if s.Logo != "" {
		e.Logo = &s.Logo
	}
	if s.Track != "" {
		e.Track = &s.Track
	}
	if s.Language != "" {
		e.Language = &s.Language
	}
	for _, ps := range s.Persons {
		op := outPerson{Name: ps.Name}
		if id, err := strconv.ParseInt(ps.ID, 10, 64); err == nil && ps.GUID == "" {
			op = outPerson{ID: &id, PublicName: ps.Name}
		} else if isUUID(ps.GUID) {
			op.GUID = ps.GUID
		}
		e.Persons = append(e.Persons, op)
	}
	e.Links = outLinks(s.Links)
	if len(s.Attachments) > 0 {
		e.Attachments = outLinks(s.Attachments)
	}
	return e
}

// outLinks converts links, keeping a type only when the schema's Reference
// enum allows it.
func outLinks(in []Link) []outLink {
	out := make([]outLink, 0, len(in))
	for _, l := range in {
		ol := outLink{URL: l.URL, Title: l.Title}
		if referenceTypes[l.Type] {
			ol.Type = l.Type
		}
		out = append(out, ol)
	}
	return out
}
