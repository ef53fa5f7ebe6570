package catalog

import (
	"bytes"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/scheduler/schedule"
)

// change is what a commit would change: the convention metadata, the
// version's documents, and the session counts.
type change struct {
	meta bool
	docs bool
	diff Diff
}

// compare compares two timetables by their BSON encoding, which is what the
// store keeps: instants at millisecond precision in UTC, so a freshly parsed
// file equals the version it was stored as.
func compare(cur, next *schedule.Schedule) (change, error) {
	var ch change
	var err error
	if ch.meta, err = differs(cur.Convention, next.Convention); err != nil {
		return ch, err
	}
	old := make(map[string][]byte, len(cur.Sessions))
	for i := range cur.Sessions {
		b, err := bson.Marshal(&cur.Sessions[i])
		if err != nil {
			return ch, fmt.Errorf("%w: encode session %q: %w", ErrInvalid, cur.Sessions[i].GUID, err)
		}
		old[cur.Sessions[i].GUID] = b
	}
	for i := range next.Sessions {
		s := &next.Sessions[i]
		b, err := bson.Marshal(s)
		if err != nil {
			return ch, fmt.Errorf("%w: encode session %q: %w", ErrInvalid, s.GUID, err)
		}
		prev, ok := old[s.GUID]
		switch {
		case !ok:
			ch.diff.Created++
		case bytes.Equal(prev, b):
			ch.diff.Unchanged++
		default:
			ch.diff.Updated++
		}
		// Position matters too: a reordered file is a new version.
		if ok && i < len(cur.Sessions) && cur.Sessions[i].GUID != s.GUID {
			ch.docs = true
		}
	}
	ch.diff.Deleted = len(cur.Sessions) - (ch.diff.Updated + ch.diff.Unchanged)
	if ch.diff.Created+ch.diff.Updated+ch.diff.Deleted > 0 || len(cur.Sessions) != len(next.Sessions) {
		ch.docs = true
	}
	for _, pair := range [][2]any{{cur.Rooms, next.Rooms}, {cur.Tracks, next.Tracks}, {cur.Speakers, next.Speakers}} {
		if ch.docs {
			break
		}
		if ch.docs, err = differs(pair[0], pair[1]); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// differs reports whether a and b encode differently. Nil and empty slices
// are equal (both are stored as an empty array or omitted).
func differs(a, b any) (bool, error) {
	ba, err := bson.Marshal(wrapper{V: a})
	if err != nil {
		return false, fmt.Errorf("%w: encode: %w", ErrInvalid, err)
	}
	bb, err := bson.Marshal(wrapper{V: b})
	if err != nil {
		return false, fmt.Errorf("%w: encode: %w", ErrInvalid, err)
	}
	return !bytes.Equal(normalizeEmpty(ba), normalizeEmpty(bb)), nil
}

// wrapper makes a slice or struct encodable as a document.
type wrapper struct {
	V any `bson:"v"`
}

// emptyArray and nullValue are the encodings of wrapper{V: []T{}} and
// wrapper{V: []T(nil)}.
var emptyArray, nullValue = mustMarshal(wrapper{V: []int{}}), mustMarshal(wrapper{V: []int(nil)})

func normalizeEmpty(b []byte) []byte {
	if bytes.Equal(b, nullValue) {
		return emptyArray
	}
	return b
}

func mustMarshal(v any) []byte {
	b, err := bson.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
