package schedule

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConflicts(t *testing.T) {
	utc := func(h, m int) time.Time { return time.Date(2026, 1, 31, h, m, 0, 0, time.UTC) }
	day := Day{Index: 1, Date: "2026-01-31", Start: utc(9, 0), End: utc(20, 0)}
	ada := PersonRef{ID: "1", Name: "Ada"}
	bob := PersonRef{GUID: "B0B00000-0000-0000-0000-000000000000", Name: "Bob"}
	bobLower := PersonRef{GUID: "b0b00000-0000-0000-0000-000000000000", Name: "Robert"}
	ses := func(guid, room string, start time.Time, d time.Duration, people ...PersonRef) Session {
		return Session{GUID: guid, Title: guid, Room: room, Start: start, Duration: d, Day: 1, Persons: people}
	}
	type want struct {
		kind  ConflictKind
		guids []string
	}
	tests := []struct {
		name     string
		sessions []Session
		want     []want
	}{
		{"none", []Session{ses("a", "R1", utc(10, 0), time.Hour), ses("b", "R2", utc(10, 0), time.Hour)}, nil},
		{"back to back is fine", []Session{ses("a", "R1", utc(10, 0), time.Hour, ada), ses("b", "R1", utc(11, 0), time.Hour, ada)}, nil},
		{"room overlap", []Session{ses("b", "R1", utc(10, 30), time.Hour), ses("a", "R1", utc(10, 0), time.Hour)},
			[]want{{ConflictRoomDoubleBooked, []string{"a", "b"}}}},
		{"three-way room overlap", []Session{
			ses("a", "R1", utc(10, 0), 3*time.Hour), ses("b", "R1", utc(10, 30), time.Hour), ses("c", "R1", utc(12, 0), time.Hour),
		}, []want{{ConflictRoomDoubleBooked, []string{"a", "b"}}, {ConflictRoomDoubleBooked, []string{"a", "c"}}}},
		{"zero-length sessions never overlap", []Session{ses("a", "R1", utc(10, 0), 0), ses("b", "R1", utc(10, 0), 0)}, nil},
		{"speaker in two rooms", []Session{ses("a", "R1", utc(10, 0), time.Hour, ada), ses("b", "R2", utc(10, 59), time.Hour, ada)},
			[]want{{ConflictSpeakerDoubleBooked, []string{"a", "b"}}}},
		{"speaker guid is case-insensitive", []Session{ses("a", "R1", utc(10, 0), time.Hour, bob), ses("b", "R2", utc(10, 30), time.Hour, bobLower)},
			[]want{{ConflictSpeakerDoubleBooked, []string{"a", "b"}}}},
		{"speaker listed twice on one session", []Session{ses("a", "R1", utc(10, 0), time.Hour, ada, ada)}, nil},
		{"same room and speaker", []Session{ses("a", "R1", utc(10, 0), time.Hour, ada), ses("b", "R1", utc(10, 30), time.Hour, ada)},
			[]want{{ConflictRoomDoubleBooked, []string{"a", "b"}}, {ConflictSpeakerDoubleBooked, []string{"a", "b"}}}},
		{"starts before its day", []Session{ses("a", "R1", utc(8, 30), time.Hour)}, []want{{ConflictOutsideDay, []string{"a"}}}},
		{"ends after its day", []Session{ses("a", "R1", utc(19, 30), time.Hour)}, []want{{ConflictOutsideDay, []string{"a"}}}},
		{"no such day", []Session{func() Session { s := ses("a", "R1", utc(22, 0), time.Hour); s.Day = 9; return s }()},
			[]want{{ConflictOutsideDay, []string{"a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Schedule{Convention: Convention{Days: []Day{day}}, Sessions: tt.sessions}
			var got []want
			for _, c := range s.Conflicts() {
				require.NotEmpty(t, c.Message)
				got = append(got, want{c.Kind, c.GUIDs})
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestConflictJSON(t *testing.T) {
	b, err := json.Marshal(Conflict{Kind: ConflictSpeakerDoubleBooked, GUIDs: []string{"a", "b"}, Message: "m"})
	require.NoError(t, err)
	require.JSONEq(t, `{"kind":"speaker_double_booked","guids":["a","b"],"message":"m"}`, string(b))
	var c Conflict
	require.NoError(t, json.Unmarshal(b, &c))
	require.Equal(t, ConflictSpeakerDoubleBooked, c.Kind)
	require.Error(t, json.Unmarshal([]byte(`{"kind":"nope"}`), &c))
}

// Real files have real conflicts; these counts pin the detector's behaviour.
func TestConflictsRealFiles(t *testing.T) {
	tests := []struct {
		file string
		want map[ConflictKind]int
	}{
		{"fosdem-2026.xml", map[ConflictKind]int{ConflictSpeakerDoubleBooked: 1}},
		// The opening starts at 10:30 before day 1's 11:00 start, and more.
		{"39c3.schedule.json", map[ConflictKind]int{ConflictOutsideDay: 14, ConflictRoomDoubleBooked: 1, ConflictSpeakerDoubleBooked: 13}},
		{"frab-camp2019.json", map[ConflictKind]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := map[ConflictKind]int{}
			for _, c := range importFile(t, tt.file, FormatUnknown).Conflicts() {
				got[c.Kind]++
			}
			require.Equal(t, tt.want, got)
		})
	}
}
