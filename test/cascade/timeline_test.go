package cascade_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// timelineMarks are the log lines that tell where a failover's time goes:
// the gateway ending the dead node's sessions and moving each viewer, the
// new edge opening its relay link and the origin accepting it, the relayed
// tracks appearing on the edge, and the viewers' clients getting
// media.moved.
var timelineMarks = []string{
	"sfurpc: ending sessions",
	"media moved",
	"relay: opening link on demand",
	"relay: upstream not on the bus",
	"relay: origin link open",
	"relay: link connected",
	"relay: track arrived",
	"track published",
	"relay: keyframe request passed upstream",
	": media.",
}

// timeRE finds a slog text timestamp (time=RFC 3339) or the helpers'
// clock-only stamp at the start of a line.
var (
	slogTimeRE   = regexp.MustCompile(`time=(\S+)`)
	helperTimeRE = regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d{3}) `)
)

// timeline logs, relative to t0, every timelineMarks line of the
// cluster's process logs within window after t0, in time order: the
// failover tests' breakdown of kill → video (figures for the report,
// never asserted).
func (c *cluster) timeline(t0 time.Time, window time.Duration) {
	c.t.Helper()
	type mark struct {
		at   time.Duration
		line string
	}
	var marks []mark
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		f, err := os.Open(filepath.Join(c.dir, e.Name()))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !slices.ContainsFunc(timelineMarks, func(m string) bool { return strings.Contains(line, m) }) {
				continue
			}
			at, ok := lineTime(line, t0)
			if !ok || at.Before(t0) || at.Sub(t0) > window {
				continue
			}
			if len(line) > 220 {
				line = line[:220]
			}
			marks = append(marks, mark{at: at.Sub(t0), line: strings.TrimSuffix(e.Name(), ".log") + ": " + line})
		}
		_ = f.Close()
	}
	slices.SortStableFunc(marks, func(a, b mark) int { return int(a.at - b.at) })
	var sb strings.Builder
	for _, m := range marks {
		sb.WriteString("\n  +" + m.at.Round(time.Millisecond).String() + "  " + m.line)
	}
	c.t.Logf("timeline from %s:%s", t0.UTC().Format("15:04:05.000"), sb.String())
}

// lineTime reads a log line's timestamp: slog's time=, or a helper's
// local clock time on t0's day.
func lineTime(line string, t0 time.Time) (time.Time, bool) {
	if m := slogTimeRE.FindStringSubmatch(line); m != nil {
		at, err := time.Parse(time.RFC3339Nano, m[1])
		return at, err == nil
	}
	if m := helperTimeRE.FindStringSubmatch(line); m != nil {
		local := t0.Local()
		clock, err := time.ParseInLocation("15:04:05.000", m[1], local.Location())
		if err != nil {
			return time.Time{}, false
		}
		y, mo, d := local.Date()
		return time.Date(y, mo, d, clock.Hour(), clock.Minute(), clock.Second(), clock.Nanosecond(), local.Location()), true
	}
	return time.Time{}, false
}
