package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/plenaryhq/plenary/internal/auth"
)

// TestServing checks the app is served with the right caching on the
// stack's origin (the binary itself once it serves the web role).
func TestServing(t *testing.T) {
	s := requireStack(t)
	t.Logf("app served by %s (proxied=%v)", s.base, s.proxied)
	for _, path := range []string{"/", "/t/demo/", "/t/demo/c/demo-con/agenda", "/t/demo/stage/main-stage"} {
		res, err := http.Get(s.base + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: status %d, Cache-Control %q", path, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}
	res, err := http.Get(s.base + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("/v1/me without a token: %d, want 401 (API routes must not fall back to the app)", res.StatusCode)
	}
}

// TestSPARouting opens a deep link, then navigates in-app and reloads.
func TestSPARouting(t *testing.T) {
	s := requireStack(t)
	b := browser(t)
	tb := newTab(t, b, s, "attendee")
	tb.open("/t/demo/c/demo-con/agenda", s.tokens["attendee"])
	tb.untilText("h1", "My agenda")
	if strings.Contains(eval[string](tb, `location.href`), "token=") {
		t.Error("the token stays in the address bar")
	}
	tb.click("a", "Plenary Demo Convention")
	tb.untilText("[role=tab]", "Now & next")
	tb.do(chromedp.Reload())
	tb.untilText("[role=tab]", "Now & next") // the token survives a reload (sessionStorage)
	tb.do(chromedp.NavigateBack())
	tb.untilText("h1", "My agenda")
}

// TestChatRendersText sends an HTML payload through the chat: the other
// attendee sees it as text, no element is created and no script runs.
func TestChatRendersText(t *testing.T) {
	s := requireStack(t)
	b := browser(t)
	const payload = `<img src=x onerror=alert(1)><script>window.__xss=1</script><b>bold</b>`
	room := "xss-room"
	a := newTab(t, b, s, "sender")
	a.open("/t/demo/stage/"+room, s.token(t, "xss-sender", "Mallory <i>", auth.RoleAttendee))
	c := newTab(t, b, s, "reader")
	c.open("/t/demo/stage/"+room, s.token(t, "xss-reader", "Reader", auth.RoleAttendee))
	a.until("joined", `window.plenaryRoom && window.plenaryRoom.status === 'live'`)
	c.until("joined", `window.plenaryRoom && window.plenaryRoom.status === 'live'`)
	a.fill("#chat-input", payload)
	a.click(".composer button", "Send")
	for _, tb := range []*tab{a, c} {
		tb.until("message shown", `[...document.querySelectorAll('.msg .text')].some(e => e.textContent === `+js(payload)+`)`)
		if n := eval[int](tb, `document.querySelectorAll('.messages img, .messages script, .messages b, .messages i').length`); n != 0 {
			t.Errorf("%s: %d elements created from chat text", tb.name, n)
		}
		if eval[bool](tb, `window.__xss === 1`) {
			t.Errorf("%s: script in chat text ran", tb.name)
		}
		if d := tb.dialogsSeen(); len(d) > 0 {
			t.Errorf("%s: dialogs opened: %v", tb.name, d)
		}
	}
	c.untilText(".msg .author", "Mallory <i>")
}

// TestPagesAccessible runs axe-core on every page at desktop and phone
// sizes and writes the screenshots to docs/screenshots.
func TestPagesAccessible(t *testing.T) {
	s := requireStack(t)
	b := browser(t)

	anon := newTab(t, b, s, "anonymous")
	anon.open("/", "")
	anon.untilText("h1", "Welcome")
	anon.screenshots("sign-in")

	att := newTab(t, b, s, "attendee")
	// A viewer in another zone than the convention's sees both clocks.
	att.timezone("America/New_York")
	att.open("/t/demo/c/demo-con", s.tokens["attendee"])
	att.untilText("h2", "Main Stage")
	att.untilText(".muted", "your time")
	att.untilText(".nownext", "Join live")
	att.screenshots("convention-now")
	att.click("[role=tab]", "Schedule")
	att.until("schedule loaded", `document.querySelectorAll('.session').length > 0`)
	att.click(".session .star", "☆")
	att.until("starred", `document.querySelector('.session .star[aria-pressed=true]')`)
	att.screenshots("convention-schedule")
	att.open("/t/demo/c/demo-con/agenda", "")
	att.until("agenda", `document.querySelectorAll('.session').length > 0`)
	att.click("button", "Get my calendar address")
	att.until("feed URL", `(document.querySelector('#feed-url')||{}).value?.includes('.ics')`)
	att.screenshots("agenda")

	att.open("/t/demo/stage/main-stage?c=demo-con", "")
	att.until("joined", `window.plenaryRoom && window.plenaryRoom.status === 'live'`)
	att.fill("#chat-input", "Hello from the accessibility test")
	att.click(".composer button", "Send")
	att.untilText(".msg .text", "Hello from the accessibility test")
	att.screenshots("session")

	mod := newTab(t, b, s, "moderator")
	mod.open("/t/demo/moderate/main-stage?c=demo-con", s.tokens["moderator"])
	mod.until("joined", `window.plenaryRoom && window.plenaryRoom.status === 'live'`)
	mod.untilText("h1", "Console")
	mod.screenshots("moderator-console")

	org := newTab(t, b, s, "organizer")
	org.open("/t/demo/organizer", s.tokens["organizer"])
	org.untilText("table", "Plenary Demo Convention")
	org.screenshots("organizer")
	org.click("a", "Plenary Demo Convention")
	org.untilText("h1", "Plenary Demo Convention")
	org.screenshots("organizer-convention")
	org.click("[role=tab]", "Sessions")
	org.until("sessions", `document.querySelectorAll('tbody tr').length > 0`)
	org.screenshots("organizer-sessions")
	org.click("[role=tab]", "Invitations")
	org.fill("#inv-name", "Guest Speaker")
	org.click("button", "Create link")
	org.until("invite", `[...document.querySelectorAll('.invites input')].some(i => i.value.includes('token='))`)
	org.screenshots("organizer-invites")

	lib := newTab(t, b, s, "library")
	lib.open("/t/demo/library", s.tokens["attendee"])
	lib.untilText("h1", "Library")
	lib.until("library loaded", `!document.querySelector('[role=status]')?.textContent.includes('Loading')`)
	lib.screenshots("library")
}

// timezone makes the tab's clock run in zone.
func (tb *tab) timezone(zone string) {
	tb.t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone}); err != nil {
		tb.t.Fatalf("timezone: %v", err)
	}
}

// TestReconnectBanner drops the page's WebSocket: the banner says so, the
// session resumes, and chat sent meanwhile by someone else arrives once.
func TestReconnectBanner(t *testing.T) {
	s := requireStack(t)
	b := browser(t)
	room := "reconnect-" + suffix()
	a := newTab(t, b, s, "dropped")
	a.open("/t/demo/stage/"+room, s.token(t, "drop-"+suffix(), "Dropped", auth.RoleAttendee))
	a.until("joined", `window.plenaryRoom?.status === 'live'`)
	other := newTab(t, b, s, "other")
	other.open("/t/demo/stage/"+room, s.token(t, "other-"+suffix(), "Other", auth.RoleAttendee))
	other.until("joined", `window.plenaryRoom?.status === 'live'`)
	selfID := eval[string](a, `window.plenaryRoom.self.id`)

	// Close the socket abnormally (as a network loss would) and keep the
	// page from reconnecting for a moment, so that the banner shows.
	eval[bool](a, `(() => { const c = window.plenaryRoom.conn; const open = c.open.bind(c); c.open = (r) => setTimeout(() => { c.open = open; open(r) }, 1500); c.ws.close(4999, 'test drop'); return true })()`)
	a.until("banner", `document.querySelector('[data-banner=reconnecting]')`)
	a.screenshots("session-reconnecting")
	other.fill("#chat-input", "sent while you were away")
	other.click(".composer button", "Send")
	a.until("live again", `window.plenaryRoom.status === 'live' && !document.querySelector('[data-banner]')`)
	a.untilText(".msg .text", "sent while you were away")
	if n := eval[int](a, `[...document.querySelectorAll('.msg .text')].filter(e => e.textContent === 'sent while you were away').length`); n != 1 {
		t.Errorf("message shown %d times after the resume, want 1", n)
	}
	if id := eval[string](a, `window.plenaryRoom.self.id`); id != selfID {
		t.Errorf("identity changed across the resume: %s -> %s", selfID, id)
	}
}
