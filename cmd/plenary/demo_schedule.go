package main

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"time"
)

// demoConvention is the slug of the convention `serve --demo` creates.
const demoConvention = "demo-con"

// demoRoom is one room of the demo timetable. Its slug is also its GUID,
// which the scheduler uses as the live room ID (a GUID that is a valid room
// name is taken as is), so the printed links open the room of the timetable.
type demoRoom struct{ name, slug string }

var demoRooms = []demoRoom{{"Main Stage", demoStage}, {"Workshop Room", "workshop-room"}}

var demoTalks = []struct{ title, track, speaker string }{
	{"Opening keynote: conventions without borders", "Keynotes", "Ada Lovelace"},
	{"Running a 20,000-viewer stage on small SFU nodes", "Media", "Grace Hopper"},
	{"Gap-free chat at scale", "Realtime", "Barbara Liskov"},
	{"Timetables across midnight and time zones", "Organizing", "Edsger Dijkstra"},
	{"From live session to course certificate", "Learning", "Frances Allen"},
	{"Load-testing with simulated audiences", "Operations", "Margaret Hamilton"},
}

// demoScheduleXML renders the demo timetable as a frab schedule.xml around
// now: two days in UTC, back-to-back hour-long sessions in both rooms, so one is always live, the first one
// running at the moment of the import. Importing it through the real
// importer keeps the demo on the production path; the GUIDs are stable, so a
// restart updates the times instead of duplicating sessions.
func demoScheduleXML(now time.Time) []byte {
	now = now.UTC()
	day0 := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	first := now.Truncate(time.Hour)
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<schedule>
  <version>demo</version>
  <conference>
    <acronym>%s</acronym>
    <title>Plenary Demo Convention</title>
    <start>%s</start>
    <end>%s</end>
    <days>2</days>
    <day_change>00:00:00</day_change>
    <timeslot_duration>00:15:00</timeslot_duration>
    <time_zone_name>UTC</time_zone_name>
  </conference>
`, demoConvention, day0.Format(time.DateOnly), day0.AddDate(0, 0, 1).Format(time.DateOnly))
	n := 0
	for d := 0; d < 2; d++ {
		start := day0.AddDate(0, 0, d)
		end := start.Add(24*time.Hour - time.Minute)
		fmt.Fprintf(&b, "  <day index=\"%d\" date=\"%s\" start=\"%s\" end=\"%s\">\n", d+1,
			start.Format(time.DateOnly), start.Format(time.RFC3339), end.Format(time.RFC3339))
		for ri, r := range demoRooms {
			fmt.Fprintf(&b, "    <room name=\"%s\" slug=\"%s\" guid=\"%s\">\n", r.name, r.slug, r.slug)
			for h := 0; h < 6; h++ {
				at := first.Add(time.Duration(d*24+h*(ri+1)) * time.Hour)
				if at.Before(start) || !at.Add(time.Hour).Before(end) {
					continue
				}
				talk := demoTalks[(h+ri+d)%len(demoTalks)]
				n++
				guid := demoGUID(fmt.Sprintf("%d/%s/%d", d, r.slug, h))
				fmt.Fprintf(&b, `      <event guid="%s" id="%d">
        <date>%s</date>
        <start>%s</start>
        <duration>01:00</duration>
        <room>%s</room>
        <slug>demo-%d</slug>
        <title>%s</title>
        <subtitle></subtitle>
        <track>%s</track>
        <type>talk</type>
        <language>en</language>
        <abstract>A demo session of the Plenary demo convention.</abstract>
        <description></description>
        <persons>
          <person id="%d">%s</person>
        </persons>
        <links></links>
      </event>
`, guid, n, at.Format(time.RFC3339), at.Format("15:04"), r.name, n, talk.title, talk.track, 1+(h+ri+d)%len(demoTalks), talk.speaker)
			}
			b.WriteString("    </room>\n")
		}
		b.WriteString("  </day>\n")
	}
	b.WriteString("</schedule>\n")
	return b.Bytes()
}

// demoGUID derives a stable UUID-shaped identifier from key.
func demoGUID(key string) string {
	h := sha1.Sum([]byte("plenary-demo/" + key))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
