package schedule

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestImportRealFiles(t *testing.T) {
	tests := []struct {
		file      string
		format    Format
		want      Summary
		zone      string
		dayChange ClockTime
		slug      string
	}{
		// Acceptance figures from the issue and PROVENANCE.md.
		{"fosdem-2026.xml", FormatFrabXML, Summary{Days: 2, Rooms: 30, Events: 883}, "Europe/Brussels", ClockTime{9, 0}, "fosdem-2026"},
		{"39c3.schedule.json", FormatC3VOCJSON, Summary{Days: 4, Rooms: 58, Events: 895}, "Europe/Berlin", ClockTime{6, 0}, "39c3"},
		{"39c3.schedule.xml", FormatFrabXML, Summary{Days: 4, Rooms: 58, Events: 895}, "Europe/Berlin", ClockTime{6, 0}, "39c3"},
		// FOSDEM 2025 declares 40 rooms but uses 29.
		{"fosdem-2025.xml", FormatFrabXML, Summary{Days: 2, Rooms: 29, Events: 943}, "Europe/Brussels", ClockTime{9, 0}, "fosdem-2025"},
		{"frab-camp2019.json", FormatC3VOCJSON, Summary{Days: 5, Rooms: 2, Events: 79}, "Europe/Berlin", ClockTime{9, 0}, "camp2019"},
		// pretalx writes no zone name: a fixed zone is derived from the offsets.
		{"pretalx-rc3.json", FormatC3VOCJSON, Summary{Days: 4, Rooms: 5, Events: 48}, "Etc/GMT-1", ClockTime{4, 0}, "rc3-channels-2020"},
	}
	for _, tt := range tests {
		for _, detect := range []bool{false, true} {
			name := tt.file + "/explicit"
			f := tt.format
			if detect {
				name, f = tt.file+"/detected", FormatUnknown
			}
			t.Run(name, func(t *testing.T) {
				s, err := Import(bytes.NewReader(readSchedule(t, tt.file)), f)
				require.NoError(t, err)
				require.Equal(t, tt.want, s.Summary())
				require.Equal(t, tt.zone, s.Convention.TimeZone)
				require.Equal(t, tt.dayChange, s.Convention.DayChange)
				require.Equal(t, tt.slug, s.Convention.Slug)
				checkInvariants(t, s)
			})
		}
	}
}

// checkInvariants asserts what every imported schedule guarantees.
func checkInvariants(t *testing.T, s *Schedule) {
	t.Helper()
	guids := make(map[string]bool)
	rooms := make(map[string]bool)
	for _, r := range s.Rooms {
		require.False(t, rooms[r.Name], "room %q listed twice", r.Name)
		rooms[r.Name] = true
		require.NotEmpty(t, r.GUID, "room %q has no guid", r.Name)
	}
	for _, ses := range s.Sessions {
		require.NotEmpty(t, ses.GUID)
		require.False(t, guids[ses.GUID], "duplicate guid %s", ses.GUID)
		guids[ses.GUID] = true
		require.NotEmpty(t, ses.Title, ses.GUID)
		require.True(t, rooms[ses.Room], "session %s room %q not in Rooms", ses.GUID, ses.Room)
		require.False(t, ses.Start.IsZero(), ses.GUID)
		_, ok := s.Convention.Day(ses.Day)
		require.True(t, ok, "session %s names unknown day %d", ses.GUID, ses.Day)
	}
}

// Both 39C3 files describe the same conference: the importers must agree.
func TestImport39C3FormatsAgree(t *testing.T) {
	x := importFile(t, "39c3.schedule.xml", FormatFrabXML)
	j := importFile(t, "39c3.schedule.json", FormatC3VOCJSON)
	require.Equal(t, keys(x), keys(j))
	require.Equal(t, len(x.Speakers), len(j.Speakers))
	for i := range x.Convention.Days {
		require.True(t, x.Convention.Days[i].Start.Equal(j.Convention.Days[i].Start))
		require.True(t, x.Convention.Days[i].End.Equal(j.Convention.Days[i].End))
	}
}

// sessionKey is what must survive a round trip.
type sessionKey struct {
	GUID, Room, Title string
	Start             string
	Duration          time.Duration
	Day               int
}

func keys(s *Schedule) map[string]sessionKey {
	m := make(map[string]sessionKey, len(s.Sessions))
	for _, ses := range s.Sessions {
		m[ses.GUID] = sessionKey{
			GUID: ses.GUID, Room: ses.Room, Title: ses.Title,
			Start: ses.Start.UTC().Format(time.RFC3339), Duration: ses.Duration, Day: ses.Day,
		}
	}
	return m
}

// 39C3 days run 06:00-06:00: a session at 01:30 on the 28th belongs to day
// 1 (the 27th), as the file says.
func TestImportAfterMidnightBelongsToPreviousDay(t *testing.T) {
	for _, file := range []string{"39c3.schedule.xml", "39c3.schedule.json"} {
		t.Run(file, func(t *testing.T) {
			s := importFile(t, file, FormatUnknown)
			loc, err := s.Convention.Location()
			require.NoError(t, err)
			n := 0
			for _, ses := range s.Sessions {
				lt := ses.Start.In(loc)
				if lt.Hour() >= 6 {
					continue
				}
				n++
				day, ok := s.Convention.Day(ses.Day)
				require.True(t, ok)
				require.Equal(t, lt.AddDate(0, 0, -1).Format(time.DateOnly), day.Date,
					"%q at %s should belong to the previous day", ses.Title, lt)
			}
			require.Positive(t, n, "39C3 has sessions after midnight")
		})
	}
}

// frabDoc builds a small schedule.xml; events is the inner XML of one room
// on one day.
func frabDoc(conf, dayAttrs, events string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<schedule>
  <version>1</version>
  <conference><acronym>test-conf</acronym><title>Test</title>` + conf + `</conference>
  <day index="1" date="2025-03-29"` + dayAttrs + `>
    <room name="Main">` + events + `</room>
  </day>
</schedule>`
}

func frabEvent(guid, date, start, duration string) string {
	d := ""
	if date != "" {
		d = "<date>" + date + "</date>"
	}
	return `<event guid="` + guid + `" id="1">` + d + `<start>` + start + `</start><duration>` + duration +
		`</duration><room>Main</room><title>T ` + guid + `</title><type>talk</type></event>`
}

// Local clock times resolve in the convention zone, DST-correct; times
// before the day change are on the next calendar date.
func TestImportTimeResolution(t *testing.T) {
	const berlin = `<time_zone_name>Europe/Berlin</time_zone_name><day_change>06:00</day_change>`
	tests := []struct {
		name     string
		conf     string
		dayAttrs string
		date     string // <date>, "" for none
		start    string
		want     string // UTC
	}{
		{"evening, CET", berlin, "", "", "23:00", "2025-03-29T22:00:00Z"},
		{"after midnight, still CET", berlin, "", "", "01:30", "2025-03-30T00:30:00Z"},
		{"after the DST switch, CEST", berlin, "", "", "04:00", "2025-03-30T02:00:00Z"},
		{"date-time without offset is local", berlin, "", "2025-03-30T04:00:00", "04:00", "2025-03-30T02:00:00Z"},
		{"date-time with offset is absolute", berlin, "", "2025-03-30T04:00:00+05:00", "04:00", "2025-03-29T23:00:00Z"},
		{"date only plus start", berlin, "", "2025-03-30", "01:30", "2025-03-30T00:30:00Z"},
		{"no zone is UTC", `<day_change>06:00</day_change>`, "", "", "01:30", "2025-03-30T01:30:00Z"},
		{"zone from offsets", "", ` start="2025-03-29T06:00:00+02:00" end="2025-03-30T06:00:00+02:00"`, "", "10:00", "2025-03-29T08:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := frabDoc(tt.conf, tt.dayAttrs, frabEvent("11111111-2222-3333-4444-555555555555", tt.date, tt.start, "00:30"))
			s, err := Import(strings.NewReader(doc), FormatFrabXML)
			require.NoError(t, err)
			require.Len(t, s.Sessions, 1)
			require.Equal(t, tt.want, s.Sessions[0].Start.UTC().Format(time.RFC3339))
			require.Equal(t, 30*time.Minute, s.Sessions[0].Duration)
			require.Equal(t, 1, s.Sessions[0].Day)
		})
	}
}

// A day without start/end runs from the day change on its date to the day
// change on the next date, across the DST switch.
func TestImportDayBoundsFromDayChange(t *testing.T) {
	doc := frabDoc(`<time_zone_name>Europe/Berlin</time_zone_name><day_change>06:00</day_change>`, "",
		frabEvent("11111111-2222-3333-4444-555555555555", "", "10:00", "01:00"))
	s, err := Import(strings.NewReader(doc), FormatUnknown)
	require.NoError(t, err)
	d := s.Convention.Days[0]
	require.Equal(t, "2025-03-29T05:00:00Z", d.Start.UTC().Format(time.RFC3339))
	require.Equal(t, "2025-03-30T04:00:00Z", d.End.UTC().Format(time.RFC3339)) // 23 hours: DST
}

func TestImportErrors(t *testing.T) {
	const guid = "11111111-2222-3333-4444-555555555555"
	okEvent := frabEvent(guid, "", "10:00", "00:30")
	jsonDoc := func(event string) string {
		return `{"schedule":{"version":"1","conference":{"acronym":"x-test","title":"X","days":[` +
			`{"index":1,"date":"2025-03-29","day_start":"2025-03-29T06:00:00+01:00","day_end":"2025-03-30T06:00:00+02:00",` +
			`"rooms":{"A":[` + event + `]}}]}}}`
	}
	tests := []struct {
		name   string
		input  string
		format Format
		lim    Limits
		is     []error
		line   int
		substr []string
	}{
		{"xml syntax", "<schedule>\n<day>\n</schedule>", FormatFrabXML, Limits{}, []error{ErrInvalid}, 3, []string{"line 3"}},
		{"xml wrong root", "<calendar/>", FormatFrabXML, Limits{}, []error{ErrInvalid}, 1, []string{"<calendar>"}},
		{"xml no days", "<schedule><version>1</version></schedule>", FormatFrabXML, Limits{}, []error{ErrInvalid}, 0, []string{"no <day>"}},
		{"xml two roots", frabDoc("", "", okEvent) + "<schedule/>", FormatFrabXML, Limits{}, []error{ErrInvalid}, 0, []string{"after the root"}},
		{"xml bad duration", frabDoc("", "", frabEvent(guid, "", "10:00", "half an hour")), FormatFrabXML, Limits{}, []error{ErrInvalid}, 6,
			[]string{"line 6", "event[guid=" + guid + "]/duration", `invalid duration "half an hour"`}},
		{"xml bad start", frabDoc("", "", frabEvent(guid, "", "25:00", "00:30")), FormatFrabXML, Limits{}, []error{ErrInvalid}, 6, []string{"/start", "invalid clock time"}},
		{"xml missing title", frabDoc("", "", `<event guid="`+guid+`"><start>10:00</start><duration>00:30</duration></event>`), FormatFrabXML, Limits{}, []error{ErrInvalid}, 6, []string{"missing title"}},
		{"xml no identity", frabDoc("", "", `<event><title>x</title><start>10:00</start><duration>00:30</duration></event>`), FormatFrabXML, Limits{}, []error{ErrInvalid}, 6, []string{"neither a guid nor an id"}},
		{"xml duplicate guid", frabDoc("", "", okEvent+"\n"+okEvent), FormatFrabXML, Limits{}, []error{ErrInvalid}, 7, []string{"duplicate guid", "first used at line 6"}},
		{"xml unknown zone", frabDoc("<time_zone_name>Mars/Olympus</time_zone_name>", "", okEvent), FormatFrabXML, Limits{}, []error{ErrInvalid}, 4, []string{"time_zone_name", "unknown time zone"}},
		{"xml bad day index", strings.Replace(frabDoc("", "", okEvent), `index="1"`, `index="first"`, 1), FormatFrabXML, Limits{}, []error{ErrInvalid}, 0, []string{"not a positive integer"}},
		{"xml encoding", `<?xml version="1.0" encoding="EBCDIC"?><schedule/>`, FormatFrabXML, Limits{}, []error{ErrInvalid}, 0, []string{"EBCDIC"}},
		{"xml too many events", frabDoc("", "", okEvent+strings.Replace(okEvent, "1111", "2222", 1)), FormatFrabXML, Limits{MaxEvents: 1}, []error{ErrInvalid, ErrLimit}, 0, []string{"more than 1 events"}},
		{"too large", frabDoc("", "", okEvent), FormatUnknown, Limits{MaxBytes: 100}, []error{ErrTooLarge}, 0, nil},
		{"json syntax", "{\n  \"schedule\": {,}\n}", FormatC3VOCJSON, Limits{}, []error{ErrInvalid}, 2, []string{"line 2, column"}},
		{"json no schedule", `{"foo":1}`, FormatC3VOCJSON, Limits{}, []error{ErrInvalid}, 0, []string{"missing schedule"}},
		{"json wrong type", jsonDoc(`{"guid":"` + guid + `","title":["x"],"date":"2025-03-29T10:00:00+01:00","duration":"00:30"}`), FormatC3VOCJSON, Limits{}, []error{ErrInvalid}, 0,
			[]string{`schedule.conference.days[0].rooms["A"][0].title`, "got array"}},
		{"json bad date", jsonDoc(`{"guid":"` + guid + `","title":"x","date":"tomorrow","duration":"00:30"}`), FormatC3VOCJSON, Limits{}, []error{ErrInvalid}, 0,
			[]string{`rooms["A"][0].date`, `invalid date-time "tomorrow"`}},
		{"json days not an array", `{"schedule":{"conference":{"days":{}}}}`, FormatC3VOCJSON, Limits{}, []error{ErrInvalid}, 1, []string{"days", "got object"}},
		{"ical import", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", FormatUnknown, Limits{}, []error{ErrUnsupported}, 0, nil},
		{"empty", "  ", FormatUnknown, Limits{}, []error{ErrUnknownFormat}, 0, nil},
		{"garbage", "hello", FormatUnknown, Limits{}, []error{ErrUnknownFormat}, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.lim.Import(strings.NewReader(tt.input), tt.format)
			require.Error(t, err)
			t.Log(err)
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			for _, s := range tt.substr {
				require.Contains(t, err.Error(), s)
			}
			if tt.line > 0 {
				var pe *ParseError
				require.ErrorAs(t, err, &pe)
				require.Equal(t, tt.line, pe.Line, err.Error())
			}
		})
	}
}

func TestImportJSONQuirks(t *testing.T) {
	// ids as strings or numbers, null subtitles, links as bare strings,
	// persons with public_name only, "end" instead of "duration".
	doc := `{"schedule":{"version":1,"conference":{"acronym":"Q-Test","title":"Q","time_zone_name":"Europe/Berlin","days":[
	{"index":1,"date":"2025-12-27","day_start":"2025-12-27T10:00:00+01:00","day_end":"2025-12-28T06:00:00+01:00","rooms":{
	 "B":[{"id":"7","title":"x","subtitle":null,"date":"2025-12-27T11:00:00+01:00","end":"2025-12-27T11:45:00+01:00",
	       "persons":[{"id":3,"public_name":"Ada"}],"links":["https://example.org/"],"do_not_record":true}],
	 "A":[{"guid":"AAAAAAAA-2222-3333-4444-555555555555","id":8,"title":"y","date":"2025-12-28T01:00:00+01:00","duration":"1:05"}]}}]}}}`
	s, err := Import(strings.NewReader(doc), FormatUnknown)
	require.NoError(t, err)
	require.Len(t, s.Sessions, 2)
	require.Equal(t, []string{"B", "A"}, []string{s.Rooms[0].Name, s.Rooms[1].Name}, "room order is the file's")
	x, y := s.Sessions[0], s.Sessions[1]
	require.True(t, isUUID(x.GUID), "guid derived from the id")
	require.Equal(t, 45*time.Minute, x.Duration)
	require.True(t, x.RecordingOptOut)
	require.Equal(t, []PersonRef{{ID: "3", Name: "Ada"}}, x.Persons)
	require.Equal(t, "https://example.org/", x.Links[0].URL)
	require.Equal(t, "aaaaaaaa-2222-3333-4444-555555555555", y.GUID, "UUID guids are lower-cased")
	require.Equal(t, 65*time.Minute, y.Duration)
	require.Equal(t, "q-test", s.Convention.Slug)
	require.Equal(t, "1", s.Convention.Version)

	// The derived guid is stable across imports.
	again, err := Import(strings.NewReader(doc), FormatC3VOCJSON)
	require.NoError(t, err)
	require.Equal(t, x.GUID, again.Sessions[0].GUID)
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Format
		ok   bool
	}{
		{"<?xml version=\"1.0\"?><schedule/>", FormatFrabXML, true},
		{"\xef\xbb\xbf\n  <schedule/>", FormatFrabXML, true},
		{"\n{\"schedule\":{}}", FormatC3VOCJSON, true},
		{"BEGIN:VCALENDAR\r\n", FormatICal, true},
		{"", FormatUnknown, false},
		{"[1,2]", FormatUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f, err := Detect([]byte(tt.in))
			require.Equal(t, tt.want, f)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrUnknownFormat)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{FormatFrabXML, FormatC3VOCJSON, FormatICal} {
		got, err := ParseFormat(f.String())
		require.NoError(t, err)
		require.Equal(t, f, got)
	}
	got, err := ParseFormat("")
	require.NoError(t, err)
	require.Equal(t, FormatUnknown, got)
	_, err = ParseFormat("csv")
	require.ErrorIs(t, err, ErrUnknownFormat)
}

func TestSummaryJSON(t *testing.T) {
	b, err := json.Marshal(Summary{Days: 2, Rooms: 30, Events: 883})
	require.NoError(t, err)
	require.JSONEq(t, `{"days":2,"rooms":30,"events":883}`, string(b))
}
