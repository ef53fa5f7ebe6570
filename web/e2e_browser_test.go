package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// wait bounds every wait on the browser.
const wait = 30 * time.Second

// chromium finds the browser.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PLENARY_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	need(t, false, "chromium not found (set PLENARY_CHROMIUM)")
	return ""
}

// browser starts headless Chromium with fake camera and microphone and a
// fresh profile; it is closed when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("lang", "en-GB"),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry a timeout.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[int]("1")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelB()
		cancelA()
	})
	return bctx
}

// tab is one browser tab of one user.
type tab struct {
	t    *testing.T
	ctx  context.Context
	s    *stack
	name string
	mu   sync.Mutex
	// dialogs counts alert/confirm/prompt dialogs; confirms are accepted.
	dialogs []string
}

// newTab opens a tab; every WebSocket frame it sends or receives is
// validated against docs/protocol, and JavaScript dialogs are recorded
// (an XSS payload calling alert would show up here).
func newTab(t *testing.T, bctx context.Context, s *stack, name string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(bctx)
	tb := &tab{t: t, ctx: ctx, s: s, name: name}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("network.enable: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.Enable, page.EnableParams{}); err != nil {
		t.Fatalf("page.enable: %v", err)
	}
	stream := protocoltest.Default(t).Stream()
	type frame struct {
		dir  client.Direction
		data *network.WebSocketFrame
	}
	frames := make(chan frame, 8192)
	dialogs := make(chan string, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventWebSocketFrameSent:
			frames <- frame{client.Sent, ev.Response}
		case *network.EventWebSocketFrameReceived:
			frames <- frame{client.Received, ev.Response}
		case *page.EventJavascriptDialogOpening:
			dialogs <- string(ev.Type) + ": " + ev.Message
		}
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case f := <-frames:
				if f.data.Opcode != 1 {
					continue
				}
				if err := stream.Check(f.dir, f.data.PayloadData); err != nil {
					t.Errorf("%s: WebSocket frame violates docs/protocol: %v\n%s", name, err, f.data.PayloadData)
				}
			case d := <-dialogs:
				tb.mu.Lock()
				tb.dialogs = append(tb.dialogs, d)
				tb.mu.Unlock()
				// Accept confirms (moderation asks before removing); the
				// handling must not run on the event reader.
				go func() {
					_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
				}()
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return tb
}

// open loads an app path, signed in with tok (none when empty).
func (tb *tab) open(path, tok string) {
	tb.t.Helper()
	u := tb.s.base + path
	if tok != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "token=" + url.QueryEscape(tok)
	}
	tb.do(chromedp.Navigate(u))
}

// do runs actions with a bounded wait.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, wait)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v\n%s", tb.name, err, tb.describe())
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, wait)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("%s: eval %s: %v", tb.name, expr, err)
	}
	return v
}

// until waits until the JavaScript predicate is truthy.
func (tb *tab) until(what, predicate string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, wait)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(wait)))
	if err != nil {
		tb.t.Fatalf("%s: waiting for %s: %v\n%s", tb.name, what, err, tb.describe())
	}
}

// describe summarises the page for failure messages.
func (tb *tab) describe() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.querySelector('main')||document.body).innerText.slice(0, 1500)`))
	if err != nil {
		return "(page unavailable: " + err.Error() + ")"
	}
	return "page: " + v
}

// untilText waits until an element matching css contains text.
func (tb *tab) untilText(css, text string) {
	tb.t.Helper()
	tb.until(fmt.Sprintf("%q in %s", text, css), fmt.Sprintf(`[...document.querySelectorAll(%s)].some(e => e.textContent.includes(%s))`, js(css), js(text)))
}

// click clicks the first element matching css whose text contains text.
func (tb *tab) click(css, text string) {
	tb.t.Helper()
	tb.untilText(css, text)
	ok := eval[bool](tb, fmt.Sprintf(`(() => { const e = [...document.querySelectorAll(%s)].find(e => e.textContent.includes(%s) && !e.disabled); if (!e) return false; e.click(); return true })()`, js(css), js(text)))
	if !ok {
		tb.t.Fatalf("%s: no enabled %s with %q\n%s", tb.name, css, text, tb.describe())
	}
}

// fill types a value into an input the way a user does (input events).
func (tb *tab) fill(css, value string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(css)), chromedp.Focus(chromedp.CSS(css)))
	tb.do(chromedp.SendKeys(chromedp.CSS(css), value))
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// dialogsSeen returns the dialogs the page opened.
func (tb *tab) dialogsSeen() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.dialogs...)
}

// axeSource is axe-core's browser build from the app's dev dependencies.
func axeSource(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("app", "node_modules", "axe-core", "axe.min.js"))
	need(t, err == nil, "axe-core is not installed (run: npm ci --prefix web/app)")
	return string(b)
}

// axeViolation is one failed axe rule.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axe runs axe-core (WCAG 2.x A and AA rules) on the page and fails the test
// on serious or critical violations.
func (tb *tab) axe(page string) {
	tb.t.Helper()
	src := axeSource(tb.t)
	if !eval[bool](tb, `typeof window.axe === 'object'`) {
		eval[chromedp.Void](tb, src+"\n;true")
	}
	vs := eval[[]axeViolation](tb, `axe.run(document, {resultTypes: ['violations'], runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}}).then(r => r.violations)`)
	var bad []string
	for _, v := range vs {
		if v.Impact != "serious" && v.Impact != "critical" {
			continue
		}
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target)+" "+strings.ReplaceAll(n.Summary, "\n", " "))
		}
		bad = append(bad, fmt.Sprintf("%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, strings.Join(where, "\n    ")))
	}
	if len(bad) > 0 {
		tb.t.Errorf("%s: axe-core found %d serious/critical violations:\n  %s", page, len(bad), strings.Join(bad, "\n  "))
	}
}

// viewports are the sizes screenshots are taken at.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"desktop", 1280, 800, false},
	{"phone", 390, 844, true},
}

// screenshots writes the page at desktop and phone sizes to
// docs/screenshots/{name}-{desktop,phone}.png, running axe at each size.
func (tb *tab) screenshots(name string) {
	tb.t.Helper()
	dir := filepath.Join(moduleRoot(), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		tb.do(chromedp.EmulateViewport(vp.width, vp.height, opts...))
		// Let the layout settle (video tiles, fonts) before capturing.
		eval[bool](tb, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
		tb.axe(name + " (" + vp.name + ")")
		ctx, cancel := context.WithTimeout(tb.ctx, wait)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		cancel()
		if err != nil {
			tb.t.Fatalf("%s: screenshot: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-"+vp.name+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.do(chromedp.EmulateViewport(1280, 800))
}
