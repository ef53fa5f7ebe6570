package schedule

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Exported frab XML and c3voc JSON re-import to the same sessions (guid,
// start, duration, room, title, day), days and day change.
func TestExportRoundTrip(t *testing.T) {
	for _, rf := range realFiles {
		for _, out := range []Format{FormatFrabXML, FormatC3VOCJSON} {
			t.Run(rf.name+"/"+out.String(), func(t *testing.T) {
				src := importFile(t, rf.name, rf.format)
				var buf bytes.Buffer
				require.NoError(t, Export(&buf, src, out))
				back, err := Import(&buf, FormatUnknown)
				require.NoError(t, err)
				require.Equal(t, src.Summary(), back.Summary())
				require.Equal(t, keys(src), keys(back))
				require.Equal(t, src.Convention.TimeZone, back.Convention.TimeZone)
				require.Equal(t, src.Convention.DayChange, back.Convention.DayChange)
				require.Equal(t, src.Convention.Slug, back.Convention.Slug)
				require.Equal(t, len(src.Convention.Days), len(back.Convention.Days))
				for i, d := range src.Convention.Days {
					require.True(t, d.Start.Equal(back.Convention.Days[i].Start))
					require.True(t, d.End.Equal(back.Convention.Days[i].End))
					require.Equal(t, d.Date, back.Convention.Days[i].Date)
				}
				// Text, people and links survive too.
				byGUID := make(map[string]*Session)
				for i := range back.Sessions {
					byGUID[back.Sessions[i].GUID] = &back.Sessions[i]
				}
				for _, s := range src.Sessions {
					b := byGUID[s.GUID]
					require.Equal(t, s.Abstract, b.Abstract, s.GUID)
					require.Equal(t, s.Description, b.Description, s.GUID)
					require.Equal(t, s.Track, b.Track, s.GUID)
					require.Equal(t, s.RecordingOptOut, b.RecordingOptOut, s.GUID)
					require.Equal(t, len(s.Persons), len(b.Persons), s.GUID)
					require.Equal(t, len(s.Links), len(b.Links), s.GUID)
				}
			})
		}
	}
}

// tinySchedule is a hand-built schedule full of values the schema rejects:
// non-numeric and duplicate ids, bad slugs and codes, a relative URL, text
// with markup and control characters, no declared days.
func tinySchedule() *Schedule {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(h, m int) time.Time { return time.Date(2026, 3, 29, h, m, 0, 0, berlin) }
	return &Schedule{
		Convention: Convention{Slug: "Tiny Con!", Title: "Tiny <Con> & \"friends\"", TimeZone: "Europe/Berlin", DayChange: ClockTime{Hour: 4}},
		Rooms:      []Room{{Name: "Hall, A"}},
		Tracks:     []Track{{Name: "Main", Slug: "Main Track", Color: "red"}},
		Sessions: []Session{
			{GUID: "aaaaaaaa-0000-0000-0000-000000000001", ID: "abc", Code: "lower", Slug: "BAD SLUG", URL: "/relative",
				Title: "Semi;colon, comma\\ and a very long title " + strings.Repeat("ü", 80), Start: at(1, 30), Duration: time.Hour,
				Room: "Hall, A", Track: "Main", Abstract: "line1\r\nline2\x01", Persons: []PersonRef{{Name: "Zoë", ID: "x"}},
				Links: []Link{{URL: "https://example.org/?a=1&b=2", Title: "a&b", Type: "weird"}}},
			{GUID: "aaaaaaaa-0000-0000-0000-000000000002", ID: "7", Code: "ABC123", Title: "Second", Start: at(3, 0),
				Duration: 30 * time.Minute, Room: "Hall, A", RecordingOptOut: true},
			{GUID: "aaaaaaaa-0000-0000-0000-000000000003", ID: "7", Code: "ABC123", Title: "Dup id", Start: at(10, 0),
				Duration: 90 * time.Second, Room: "Other"},
		},
	}
}

// Exported frab XML validates against the c3voc schedule.xml.xsd.
func TestExportFrabXMLValidatesXSD(t *testing.T) {
	xmllint := requireTool(t, "xmllint", "apt-get install libxml2-utils")
	xsd := filepath.Join(schedulesDir(t), "schedule.xml.xsd")
	cases := []struct {
		name string
		s    func(t *testing.T) *Schedule
	}{
		{"tiny hand-built", func(*testing.T) *Schedule { return tinySchedule() }},
	}
	for _, rf := range realFiles {
		cases = append(cases, struct {
			name string
			s    func(t *testing.T) *Schedule
		}{rf.name, func(t *testing.T) *Schedule { return importFile(t, rf.name, rf.format) }})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "schedule.xml")
			f, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, ExportFrabXML(f, c.s(t)))
			require.NoError(t, f.Close())
			out, err := exec.Command(xmllint, "--noout", "--schema", xsd, path).CombinedOutput()
			require.NoError(t, err, "xmllint: %s", out)
			require.Contains(t, string(out), "validates")
		})
	}
}

// A hand-built schedule without days exports and re-imports.
func TestExportTinyRoundTrip(t *testing.T) {
	src := tinySchedule()
	for _, f := range []Format{FormatFrabXML, FormatC3VOCJSON} {
		t.Run(f.String(), func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Export(&buf, src, f))
			back, err := Import(&buf, f)
			require.NoError(t, err)
			require.Len(t, back.Sessions, 3)
			// Without declared days, sessions go to the day of their start
			// shifted by the day change: 01:30 and 03:00 belong to the 28th.
			require.Equal(t, []string{"2026-03-28", "2026-03-29"},
				[]string{back.Convention.Days[0].Date, back.Convention.Days[1].Date})
			for i, s := range src.Sessions {
				b := back.Sessions[i]
				require.Equal(t, s.GUID, b.GUID)
				require.True(t, s.Start.Equal(b.Start), "%s: %s != %s", s.GUID, s.Start, b.Start)
				require.Equal(t, s.Duration, b.Duration)
				require.Equal(t, s.Title, b.Title)
				require.Equal(t, s.Room, b.Room)
			}
			require.Equal(t, "line1\nline2", back.Sessions[0].Abstract)
		})
	}
}

func TestExportC3VOCJSONShape(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, ExportC3VOCJSON(&buf, tinySchedule()))
	var doc struct {
		Schedule struct {
			Conference struct {
				Acronym string `json:"acronym"`
				Days    []struct {
					Rooms map[string][]map[string]any `json:"rooms"`
				} `json:"days"`
			} `json:"conference"`
		} `json:"schedule"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Equal(t, "Tiny Con!", doc.Schedule.Conference.Acronym)
	ev := doc.Schedule.Conference.Days[0].Rooms["Hall, A"][0]
	for _, k := range []string{"abstract", "date", "duration", "guid", "id", "language", "links", "persons", "room", "slug", "start", "subtitle", "title", "track", "type", "url"} {
		require.Contains(t, ev, k, "the schema requires %q", k)
	}
	require.EqualValues(t, 8, ev["id"], "non-numeric ids are renumbered above the highest")
	require.NotContains(t, ev, "code", "invalid codes are left out")
}

func TestExportICal(t *testing.T) {
	var buf bytes.Buffer
	stamp := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, ExportICal(&buf, tinySchedule(), stamp))
	out := buf.String()
	require.True(t, strings.HasPrefix(out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"))
	require.True(t, strings.HasSuffix(out, "END:VCALENDAR\r\n"))
	require.Equal(t, 3, strings.Count(out, "BEGIN:VEVENT\r\n"))
	for i, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		require.LessOrEqual(t, len(l), 75, "line %d: %q", i, l)
		require.NotContains(t, l, "\n")
	}
	unfolded := strings.ReplaceAll(out, "\r\n ", "")
	require.Contains(t, unfolded, "UID:aaaaaaaa-0000-0000-0000-000000000001\r\n")
	require.Contains(t, unfolded, "DTSTAMP:20260102T030405Z\r\n")
	// 01:30 CET on 2026-03-29 (before the switch to CEST at 02:00).
	require.Contains(t, unfolded, "DTSTART:20260329T003000Z\r\nDTEND:20260329T013000Z\r\n")
	require.Contains(t, unfolded, `SUMMARY:Semi\;colon\, comma\\ and a very long title ü`)
	require.Contains(t, unfolded, `LOCATION:Hall\, A`)
	require.Contains(t, unfolded, `DESCRIPTION:Zoë\n\nline1\nline2`+"\r\n")
	require.NotContains(t, unfolded, "URL:/relative")
}

// Exported iCal parses with ical.js (an independent, real parser) and its
// instants match the source.
func TestExportICalParsesWithICalJS(t *testing.T) {
	node := requireTool(t, "node", "apt-get install nodejs")
	dir, err := filepath.Abs(filepath.Join("testdata", "icaljs"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ical.js")); err != nil {
		missing(t, "ical.js not installed: run npm ci --prefix scheduler/schedule/testdata/icaljs")
	}
	for _, name := range []string{"fosdem-2026.xml", "39c3.schedule.json"} {
		t.Run(name, func(t *testing.T) {
			s := importFile(t, name, FormatUnknown)
			path := filepath.Join(t.TempDir(), "schedule.ics")
			f, err := os.Create(path)
			require.NoError(t, err)
			require.NoError(t, ExportICal(f, s, time.Now()))
			require.NoError(t, f.Close())
			cmd := exec.Command(node, "parse.mjs", path)
			cmd.Dir = dir
			out, err := cmd.Output()
			require.NoError(t, err, "node parse.mjs: %v", err)
			var events []struct {
				UID, Start, End, Summary, Location string
			}
			require.NoError(t, json.Unmarshal(out, &events))
			require.Len(t, events, len(s.Sessions))
			byGUID := make(map[string]Session, len(s.Sessions))
			for _, ses := range s.Sessions {
				byGUID[ses.GUID] = ses
			}
			for _, ev := range events {
				ses, ok := byGUID[ev.UID]
				require.True(t, ok, "unknown UID %s", ev.UID)
				start, err := time.Parse(time.RFC3339, ev.Start)
				require.NoError(t, err)
				end, err := time.Parse(time.RFC3339, ev.End)
				require.NoError(t, err)
				require.True(t, ses.Start.Equal(start), "%s: start %s != %s", ev.UID, start, ses.Start)
				require.True(t, ses.End().Equal(end), "%s: end %s != %s", ev.UID, end, ses.End())
				require.Equal(t, ses.Room, ev.Location)
				require.True(t, strings.HasPrefix(ev.Summary, ses.Title), "%q", ev.Summary)
			}
		})
	}
}
