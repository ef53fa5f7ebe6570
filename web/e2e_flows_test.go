package web_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plenaryhq/plenary/internal/auth"
)

// suffix returns a short random string for names owned by one test run.
func suffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rest calls the API with the organizer's token and returns the body.
func (s *stack) rest(t *testing.T, method, path, contentType string, body []byte) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.direct+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.tokens["organizer"])
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return b
}

// liveConvention imports and publishes a one-room convention whose only
// session runs from 10 minutes ago to 2 hours from now, so that it is live
// whenever the test runs. It returns the convention slug and room slug.
func (s *stack) liveConvention(t *testing.T) (slug, room string) {
	t.Helper()
	id := suffix()
	slug, room = "journey-"+id, "journey-stage-"+id
	start := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Minute)
	day := start.Format(time.DateOnly)
	xml := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<schedule><version>1</version>
<conference><acronym>%[1]s</acronym><title>Journey Convention %[3]s</title><start>%[2]s</start><end>%[2]s</end><days>1</days>
<day_change>00:00:00</day_change><timeslot_duration>00:15:00</timeslot_duration><time_zone_name>Europe/Brussels</time_zone_name></conference>
<day index="1" date="%[2]s" start="%[2]sT00:00:00Z" end="%[2]sT23:59:00Z">
<room name="Journey Stage %[3]s" slug="%[4]s">
<event guid="4f0c2a2e-0000-4000-8000-%[3]s0000" id="1"><date>%[5]s</date><start>%[6]s</start><duration>02:10</duration>
<room>Journey Stage %[3]s</room><slug>journey-talk</slug><title>Live talk %[3]s</title><subtitle></subtitle><track>Journeys</track>
<type>talk</type><language>en</language><abstract>A session that is on now.</abstract><description></description>
<persons><person id="1">Pion Publisher</person></persons><links></links></event>
</room></day></schedule>`, slug, day, id, room, start.Format(time.RFC3339), start.Format("15:04"))
	s.rest(t, "POST", "/v1/conventions/"+slug+"/schedule", "application/xml", []byte(xml))
	s.rest(t, "POST", "/v1/conventions/"+slug+"/publish", "", nil)
	return slug, room
}

// playsVideo is a predicate: the tab renders decoded frames of a video
// element matching sel.
func playsVideo(sel string) string {
	return `[...document.querySelectorAll(` + js(sel) + `)].some(v => v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 0)`
}

// TestAttendeeJourney is the attendee acceptance scenario: from the
// schedule to the live session, video of a Pion speaker, chat seen by a
// second attendee, a question approved by the moderator, a poll vote, a
// raised hand, a promotion and publishing without reload.
func TestAttendeeJourney(t *testing.T) {
	s := requireStack(t)
	slug, room := s.liveConvention(t)
	speaker := s.startPublisher(t, room, "Pion Speaker")
	b := browser(t)

	att := newTab(t, b, s, "attendee 1")
	att.open("/t/demo/c/"+slug, s.token(t, "journey-a-"+suffix(), "Attendee One", auth.RoleAttendee))
	att.untilText("[role=tab]", "Now & next")
	att.click(".nownext a.button", "Join live")
	att.until("on the session page", `location.pathname.includes('/stage/`+room+`')`)
	att.untilText("h1", "Live talk")
	att.until("joined", `window.plenaryRoom?.status === 'live'`)
	att.until("speaker's video plays", playsVideo(`video[data-participant="`+speaker.id+`"]`))

	other := newTab(t, b, s, "attendee 2")
	other.open("/t/demo/stage/"+room+"?c="+slug, s.token(t, "journey-b-"+suffix(), "Attendee Two", auth.RoleAttendee))
	other.until("joined", `window.plenaryRoom?.status === 'live'`)

	mod := newTab(t, b, s, "moderator")
	mod.open("/t/demo/moderate/"+room+"?c="+slug, s.tokens["moderator"])
	mod.until("joined", `window.plenaryRoom?.status === 'live'`)

	// Chat: attendee 1 writes, attendee 2 reads.
	att.fill("#chat-input", "Hello from attendee one")
	att.click(".composer button", "Send")
	other.untilText(".msg .text", "Hello from attendee one")

	// Q&A with pre-moderation: hidden until the moderator approves it.
	mod.click("label.check", "Approve questions before")
	mod.until("premoderation on", `window.plenaryRoom.qaSettings.premoderation === true`)
	att.until("premoderation seen", `window.plenaryRoom.qaSettings.premoderation === true`)
	att.click("[role=tab]", "Q&A")
	att.fill("#qa-input", "How low is the latency?")
	att.click(".qa .composer button", "Ask")
	att.untilText(".note", "once a moderator approves")
	mod.untilText(".question.pending .text", "How low is the latency?")
	other.click("[role=tab]", "Q&A")
	if eval[bool](other, `document.body.textContent.includes('How low is the latency?')`) {
		t.Error("a pending question is visible to another attendee")
	}
	mod.click(".question.pending button", "Approve")
	other.untilText(".questions .question .text", "How low is the latency?")
	att.untilText(".questions .question .text", "How low is the latency?")

	// Poll: the moderator asks, attendee 1 votes, everyone sees results.
	mod.click("[role=tab]", "Polls")
	mod.fill("#poll-q", "Which track next?")
	mod.fill("#poll-o0", "Media")
	mod.fill("#poll-o1", "Realtime")
	mod.click("button", "Start poll")
	att.click("[role=tab]", "Polls")
	att.click("label.check", "Realtime")
	att.click(".poll button", "Vote")
	att.untilText(".poll .results", "1 votes")
	mod.untilText(".poll .results", "1 votes")

	// Raise hand, promotion, publishing without a reload.
	att.click(".controls button", "Raise hand")
	att.untilText(".controls button", "Lower hand")
	mod.click("[role=tab]", "People")
	mod.untilText(".people li.hand", "Attendee One")
	mod.click(".people li.hand button", "Promote")
	att.untilText(".toasts", "You are on stage")
	att.until("publishing", `window.plenaryRoom.media.publishing && !!window.plenaryRoom.media.local`)
	att.until("own preview plays", playsVideo(`video[data-local="true"]`))
	attID := eval[string](att, `window.plenaryRoom.self.id`)
	mod.until("moderator sees the promoted attendee's video", playsVideo(`video[data-participant="`+attID+`"]`))
	other.until("attendee 2 sees the promoted attendee's video", playsVideo(`video[data-participant="`+attID+`"]`))
	if n := eval[int](att, `performance.getEntriesByType('navigation').length`); n != 1 {
		t.Errorf("the page navigated %d times", n)
	}
	att.screenshots("session-live")
	mod.screenshots("moderator-console-live")
}

// fosdemFile is the FOSDEM 2026 timetable shared by the project's tests.
func fosdemFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(moduleRoot(), "..", "shared", "testdata", "schedules", "fosdem-2026.xml")
	_, err := os.Stat(p)
	need(t, err == nil, "shared/testdata/schedules/fosdem-2026.xml not found beside the repository")
	return p
}

// TestOrganizerImport is the organizer acceptance scenario: importing
// fosdem-2026.xml through the UI shows 883 sessions over 2 days.
func TestOrganizerImport(t *testing.T) {
	s := requireStack(t)
	file := fosdemFile(t)
	slug := "fosdem-" + suffix()
	b := browser(t)
	org := newTab(t, b, s, "organizer")
	org.open("/t/demo/organizer", s.tokens["organizer"])
	org.untilText("h1", "Organizer")
	org.fill("#imp-slug", slug)
	org.do(setUploadFile("#imp-file", file))
	org.click("form[aria-label='Import a schedule'] button", "Import")
	org.until("import summary", `document.querySelector('[data-testid=import-summary]')`)
	if got := eval[string](org, `document.querySelector('[data-testid=import-summary] [data-count=events]').textContent`); got != "883" {
		t.Errorf("summary shows %s sessions, want 883", got)
	}
	if got := eval[string](org, `document.querySelector('[data-testid=import-summary] [data-count=days]').textContent`); got != "2" {
		t.Errorf("summary shows %s days, want 2", got)
	}
	org.screenshots("organizer-import")
	org.until("listed", `document.querySelector('tr[data-slug=`+js(slug)+`] [data-count=sessions]')?.textContent === '883'`)
	if got := eval[string](org, `document.querySelector('tr[data-slug=`+js(slug)+`] [data-count=days]').textContent`); got != "2" {
		t.Errorf("convention list shows %s days, want 2", got)
	}
	org.click("tr[data-slug="+js(slug)+"] a", "")
	org.until("convention page", `document.querySelector('h1 + p [data-count=sessions]')?.textContent === '883'`)
	if got := eval[string](org, `document.querySelector('h1 + p [data-count=days]').textContent`); got != "2" {
		t.Errorf("convention page shows %s days, want 2", got)
	}

	// Edit a session, add a room.
	org.click("[role=tab]", "Sessions")
	org.until("sessions", `document.querySelectorAll('tbody tr').length > 0`)
	org.click("tbody button", "Edit")
	org.until("editor", `document.querySelector('#s-title')`)
	eval[bool](org, `(() => { const i = document.querySelector('#s-title'); i.value = ''; return true })()`)
	org.fill("#s-title", "Edited by the browser test")
	org.click("form button", "Save")
	org.untilText("tbody th", "Edited by the browser test")
	org.click("[role=tab]", "Rooms")
	org.fill("form.row input", "Test Room "+slug)
	org.click("form.row button", "Add room")
	org.untilText("tbody th", "Test Room "+slug)
}

// setUploadFile puts a file into a file input (as if the user chose it).
func setUploadFile(css, path string) chromedp.Action[chromedp.Void] {
	return chromedp.SetUploadFiles(chromedp.CSS(css), []string{path})
}

// TestModeration covers the console's room controls: lock (a newcomer is
// refused, the people inside are told), mute, and remove (with the
// confirmation dialog).
func TestModeration(t *testing.T) {
	s := requireStack(t)
	b := browser(t)
	room := "moderation-" + suffix()
	att := newTab(t, b, s, "attendee")
	att.open("/t/demo/stage/"+room, s.token(t, "mod-a-"+suffix(), "Ann Attendee", auth.RoleAttendee))
	att.until("joined", `window.plenaryRoom?.status === 'live'`)
	mod := newTab(t, b, s, "moderator")
	mod.open("/t/demo/moderate/"+room, s.tokens["moderator"])
	mod.until("joined", `window.plenaryRoom?.status === 'live'`)

	mod.click(".modbar button", "Lock room")
	mod.untilText(".modbar button", "Unlock room")
	att.untilText(".toasts", "The room is now locked")
	late := newTab(t, b, s, "latecomer")
	late.open("/t/demo/stage/"+room, s.token(t, "mod-l-"+suffix(), "Late Larry", auth.RoleAttendee))
	late.untilText("[role=alert]", "locked")

	mod.click("[role=tab]", "People")
	mod.click(".people button", "Mute")
	att.untilText(".toasts", "muted your microphone")
	mod.click(".people button", "Remove")
	att.untilText("[role=alert]", "removed you from this room")
	mod.until("gone from the list", `![...document.querySelectorAll('.people li')].some(li => li.textContent.includes('Ann Attendee'))`)
	if d := mod.dialogsSeen(); len(d) != 1 || !strings.Contains(d[0], "Remove Ann Attendee") {
		t.Errorf("confirmation dialogs: %v", d)
	}
}
