package chat

import (
	"encoding/json"
	"fmt"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/tenant"
)

// MaxRoomLen is the longest room name the service accepts (the envelope's
// room pattern, docs/protocol/envelope.json).
const MaxRoomLen = 64

// RoomKey names one room of one tenant: the unit of sequencing. Every
// history key and archive query is built from it, so a room of one tenant
// can never be confused with the same-named room of another.
type RoomKey struct {
	Tenant tenant.ID
	Room   string
}

// String returns "tenant/room", for logs.
func (k RoomKey) String() string { return string(k.Tenant) + "/" + k.Room }

// Validate checks the tenant and the room name: 1–MaxRoomLen characters of
// ASCII letters, digits and "._-", starting with a letter or digit — the
// envelope's room pattern, safe in Redis keys, bus channels and URL path
// segments without escaping.
func (k RoomKey) Validate() error {
	if !k.Tenant.Valid() {
		return fmt.Errorf("%w: tenant %q", ErrInvalidRoom, string(k.Tenant))
	}
	return validRoom(k.Room)
}

// validRoom checks a room name (see RoomKey.Validate).
func validRoom(r string) error {
	if r == "" || len(r) > MaxRoomLen {
		return fmt.Errorf("%w: %d bytes, want 1-%d", ErrInvalidRoom, len(r), MaxRoomLen)
	}
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return fmt.Errorf("%w: %q: byte %d not allowed (letters, digits and ._- after the first)", ErrInvalidRoom, r, i)
		}
	}
	return nil
}

// Event is one sequenced room event as history keeps it: the envelope type,
// the room's sequence number and the payload exactly as clients receive it.
type Event struct {
	// Seq is the room's sequence number, assigned by History.Append.
	Seq uint64 `json:"seq"`
	// Type is the envelope type ("chat.message", "qa.question", …).
	Type string `json:"type"`
	// Data is the JSON payload, described by docs/protocol/<Type>.json.
	Data json.RawMessage `json:"data"`
}

// Envelope returns the event as the server→client envelope for room.
func (e *Event) Envelope(room string) *protocol.Envelope {
	return &protocol.Envelope{V: protocol.Version, Type: e.Type, Room: room, Seq: e.Seq, Data: e.Data}
}

// storedEvent is the encoding of an event's body in a Redis stream entry
// (the sequence is the entry ID).
type storedEvent struct {
	Type string          `json:"t"`
	Data json.RawMessage `json:"d"`
}
