package relay

import (
	"strings"

	"github.com/plenaryhq/plenary/internal/tenant"
	"github.com/plenaryhq/plenary/sfu"
)

// A relayed track's ID records its route. An edge republishes the track
// with ID "relay~<upstream>><edge>><nonce>/<upstream's track ID>", so a track
// that crossed A→B then B→C is known on C as
// "relay~B>C>n2/relay~A>B>n1/speaker/cam": its root (the node whose client
// publishes it) is the upstream of the innermost relay segment, and every
// node named in a segment has already carried it.

// linkID names a new link from upstream to edge.
func linkID(upstream, edge, nonce string) string { return upstream + ">" + edge + ">" + nonce }

// trackRoute returns the root node of track id as seen on node self (self
// for a track its own client publishes) and the nodes it passed through.
func trackRoute(id sfu.TrackID, self string) (root string, path []string) {
	root = self
	rest := string(id)
	for strings.HasPrefix(rest, ParticipantPrefix) {
		seg, tail, ok := strings.Cut(rest[len(ParticipantPrefix):], "/")
		if !ok {
			break
		}
		parts := strings.Split(seg, ">")
		if len(parts) != 3 {
			break
		}
		root = parts[0]
		path = append(path, parts[1], parts[0])
		rest = tail
	}
	return root, path
}

// isRelayParticipant reports a participant a relay link created.
func isRelayParticipant(id sfu.ParticipantID) bool {
	return strings.HasPrefix(string(id), ParticipantPrefix)
}

// isRelayedTrack reports a track a relay link republishes (its
// TrackInfo.Publisher is the original publisher on another node, see
// sfu.JoinOptions.Relay; its ID starts with the link's participant ID).
func isRelayedTrack(id sfu.TrackID) bool {
	return strings.HasPrefix(string(id), ParticipantPrefix)
}

// RoomKey is the registry key of a room, "tenant/room" (noderegistry.Node
// Rooms, Origins and Relayed are keyed by it).
func RoomKey(t tenant.ID, room sfu.RoomID) string { return t.String() + "/" + string(room) }

// parseRoomKey splits a RoomKey.
func parseRoomKey(k string) (tenant.ID, sfu.RoomID, bool) {
	ts, r, ok := strings.Cut(k, "/")
	if !ok || r == "" {
		return "", "", false
	}
	t, err := tenant.Parse(ts)
	if err != nil {
		return "", "", false
	}
	return t, sfu.RoomID(r), true
}
