package schedule

// Summary counts what a schedule holds, as the import endpoint reports it.
type Summary struct {
	// Days is the number of convention days.
	Days int `json:"days"`
	// Rooms is the number of rooms that hold at least one session (files
	// may declare rooms that stay empty: FOSDEM 2025 lists 40, uses 29).
	Rooms int `json:"rooms"`
	// Events is the number of sessions.
	Events int `json:"events"`
}

// Summary computes the schedule's summary.
func (s *Schedule) Summary() Summary {
	used := make(map[string]struct{})
	for i := range s.Sessions {
		used[s.Sessions[i].Room] = struct{}{}
	}
	return Summary{Days: len(s.Convention.Days), Rooms: len(used), Events: len(s.Sessions)}
}
