package library

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Segment is a stretch [Start, End] of a video that was played, in seconds.
type Segment struct {
	Start float64 `bson:"s" json:"start"`
	End   float64 `bson:"e" json:"end"`
}

// Bounds on untrusted played-segments input.
const (
	// maxSegments is the most segments one statement may carry.
	maxSegments = 10000
	// maxSegmentsLen bounds the played-segments string.
	maxSegmentsLen = 256 << 10
)

// ErrSegments means a played-segments value is malformed.
var ErrSegments = errors.New("library: malformed played-segments")

// ParseSegments parses the xAPI Video Profile played-segments extension
// (https://w3id.org/xapi/video/extensions/played-segments): segments joined
// by "[,]", each "start[.]end" in seconds, e.g. "0[.]12.5[,]30[.]45". A
// segment whose end precedes its start is swapped; an empty string is no
// segments.
func ParseSegments(s string) ([]Segment, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if len(s) > maxSegmentsLen {
		return nil, fmt.Errorf("%w: %d bytes", ErrSegments, len(s))
	}
	parts := strings.Split(s, "[,]")
	if len(parts) > maxSegments {
		return nil, fmt.Errorf("%w: %d segments, at most %d", ErrSegments, len(parts), maxSegments)
	}
	out := make([]Segment, 0, len(parts))
	for _, p := range parts {
		a, b, ok := strings.Cut(p, "[.]")
		if !ok {
			return nil, fmt.Errorf("%w: %q has no [.]", ErrSegments, p)
		}
		start, err1 := parseSeconds(a)
		end, err2 := parseSeconds(b)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrSegments, p, err)
		}
		if end < start {
			start, end = end, start
		}
		out = append(out, Segment{Start: start, End: end})
	}
	return out, nil
}

func parseSeconds(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1e7 {
		return 0, fmt.Errorf("%v out of range", v)
	}
	return v, nil
}

// FormatSegments writes segments in the played-segments syntax.
func FormatSegments(segs []Segment) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = strconv.FormatFloat(s.Start, 'f', -1, 64) + "[.]" + strconv.FormatFloat(s.End, 'f', -1, 64)
	}
	return strings.Join(parts, "[,]")
}

// Union merges overlapping and touching segments, clipped to [0, limit]
// (limit <= 0 means no clipping), sorted by start.
func Union(limit float64, sets ...[]Segment) []Segment {
	var all []Segment
	for _, set := range sets {
		for _, s := range set {
			if limit > 0 {
				s.Start, s.End = min(max(s.Start, 0), limit), min(max(s.End, 0), limit)
			}
			if s.End > s.Start {
				all = append(all, s)
			}
		}
	}
	slices.SortFunc(all, func(a, b Segment) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	var out []Segment
	for _, s := range all {
		if n := len(out); n > 0 && s.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

// Coverage is the fraction of [0, duration] the union of segs covers.
func Coverage(segs []Segment, duration float64) float64 {
	if duration <= 0 {
		return 0
	}
	covered := 0.0
	for _, s := range Union(duration, segs) {
		covered += s.End - s.Start
	}
	return min(1, covered/duration)
}
