package recorder

import (
	"encoding/json"
	"fmt"
)

// TrackKind says whether a track is audio or video.
type TrackKind uint8

// Track kinds. The zero value is KindUnknown.
const (
	KindUnknown TrackKind = iota
	KindAudio
	KindVideo
)

// String returns "audio", "video" or "unknown"; the names are also the
// manifest's JSON values and metric label values.
func (k TrackKind) String() string {
	switch k {
	case KindAudio:
		return "audio"
	case KindVideo:
		return "video"
	}
	return "unknown"
}

// ParseTrackKind parses "audio" or "video".
func ParseTrackKind(s string) (TrackKind, error) {
	switch s {
	case "audio":
		return KindAudio, nil
	case "video":
		return KindVideo, nil
	}
	return KindUnknown, fmt.Errorf("recorder: unknown track kind %q", s)
}

// MarshalJSON writes the kind's name.
func (k TrackKind) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }

// UnmarshalJSON reads a kind's name.
func (k *TrackKind) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("recorder: track kind: %w", err)
	}
	v, err := ParseTrackKind(s)
	if err != nil {
		return err
	}
	*k = v
	return nil
}
