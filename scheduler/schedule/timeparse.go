package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// loadZone loads an IANA zone by name. Empty is UTC; "Local" is refused
// because it would make a schedule depend on the server's settings.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`time zone "Local" is not allowed; name an IANA zone`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}

// zoneForOffset names an IANA zone with a fixed UTC offset, for files that
// give offsets but no zone name. The Etc/GMT zones have inverted signs
// (Etc/GMT-1 is UTC+1) and exist for whole hours from -12 to +14 only; any
// other offset falls back to UTC, which is still correct for absolute times.
func zoneForOffset(offsetSeconds int) string {
	if offsetSeconds == 0 || offsetSeconds%3600 != 0 {
		return "UTC"
	}
	h := offsetSeconds / 3600
	if h < -12 || h > 14 {
		return "UTC"
	}
	if h > 0 {
		return fmt.Sprintf("Etc/GMT-%d", h)
	}
	return fmt.Sprintf("Etc/GMT+%d", -h)
}

// instantLayouts are the date-time forms real exporters write with an
// explicit offset; localLayouts are those without, read in the convention's
// zone.
var (
	instantLayouts = []string{
		time.RFC3339,
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04:05Z0700",
		"2006-01-02 15:04:05Z07:00",
	}
	localLayouts = []string{
		"2006-01-02T15:04:05",
		"2006-01-02T15:04",
		"2006-01-02 15:04:05",
		"2006-01-02 15:04",
	}
)

// parseInstant parses a date-time. With an offset it is absolute; without
// one it is a wall-clock time in loc (DST-correct: the offset is the one in
// force at that local time). hasOffset reports which.
func parseInstant(s string, loc *time.Location) (t time.Time, hasOffset bool, err error) {
	s = strings.TrimSpace(s)
	for _, l := range instantLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true, checkYear(t, s)
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, false, checkYear(t, s)
		}
	}
	return time.Time{}, false, fmt.Errorf("invalid date-time %q (want e.g. 2026-01-31T09:30:00+01:00)", s)
}

// Years outside [minYear, maxYear] are refused: no convention happens there,
// and far dates bring local mean time offsets with seconds and years that
// no schedule format can write.
const minYear, maxYear = 1970, 9000

// checkYear refuses a parsed time outside the supported years.
func checkYear(t time.Time, s string) error {
	if y := t.Year(); y < minYear || y > maxYear {
		return fmt.Errorf("date %q is outside the years %d-%d", s, minYear, maxYear)
	}
	return nil
}

// parseDate parses a civil date "2006-01-02".
func parseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date %q (want YYYY-MM-DD)", s)
	}
	return t, checkYear(t, s)
}

// parseClock parses a wall-clock time "HH:MM" or "HH:MM:SS" (hour 0-23).
func parseClock(s string) (ClockTime, error) {
	h, m, sec, ok := splitHMS(s)
	if !ok || h > 23 || m > 59 || sec > 59 {
		return ClockTime{}, fmt.Errorf("invalid clock time %q (want HH:MM)", s)
	}
	return ClockTime{Hour: h, Minute: m}, nil
}

// parseDuration parses "HH:MM" or "HH:MM:SS" as pentabarf, frab and pretalx
// write it; hours may have one to three digits.
func parseDuration(s string) (time.Duration, error) {
	h, m, sec, ok := splitHMS(s)
	if !ok || m > 59 || sec > 59 {
		return 0, fmt.Errorf("invalid duration %q (want HH:MM)", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, nil
}

// splitHMS splits "H:MM" or "H:MM:SS" with 1-3 digit hours and 2 digit
// minutes and seconds.
func splitHMS(s string) (h, m, sec int, ok bool) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 2 && len(parts) != 3 {
		return 0, 0, 0, false
	}
	nums := [3]int{}
	for i, p := range parts {
		if (i == 0 && (len(p) < 1 || len(p) > 3)) || (i > 0 && len(p) != 2) {
			return 0, 0, 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || strings.ContainsAny(p, "+-") {
			return 0, 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], nums[2], true
}

// wallClock returns the instant of date (a civil date) at clock c in loc.
// When c falls into a DST gap, Go normalises it to a real instant.
func wallClock(date time.Time, c ClockTime, loc *time.Location) time.Time {
	return time.Date(date.Year(), date.Month(), date.Day(), c.Hour, c.Minute, 0, 0, loc)
}

// formatDuration formats d as "HH:MM", or "HH:MM:SS" when it has seconds.
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	total := int64(d / time.Second)
	h, m, s := total/3600, total/60%60, total%60
	if s != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%02d:%02d", h, m)
}
