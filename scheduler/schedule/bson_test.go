package schedule

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The model is stored as BSON documents by the scheduler's store layer:
// every type must survive a round trip (instants compared with Equal, since
// BSON keeps milliseconds in UTC).
func TestModelBSONRoundTrip(t *testing.T) {
	src := importFile(t, "39c3.schedule.json", FormatC3VOCJSON)
	b, err := bson.Marshal(src)
	require.NoError(t, err)
	var back Schedule
	require.NoError(t, bson.Unmarshal(b, &back))
	require.Equal(t, keys(src), keys(&back))
	require.Equal(t, src.Convention.DayChange, back.Convention.DayChange)
	require.Equal(t, src.Rooms, back.Rooms)
	require.Equal(t, src.Speakers, back.Speakers)
	require.Equal(t, src.Sessions[0].Persons, back.Sessions[0].Persons)

	// A session is also a document on its own, keyed by guid.
	raw, err := bson.Marshal(src.Sessions[0])
	require.NoError(t, err)
	var doc bson.M
	require.NoError(t, bson.Unmarshal(raw, &doc))
	require.Equal(t, src.Sessions[0].GUID, doc["guid"])
}
