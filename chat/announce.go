package chat

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// maxAnnounceRooms bounds the rooms one convention-wide announcement is
// appended to.
const maxAnnounceRooms = 10000

// announceAck is the reply of announce.send.
type announceAck struct {
	Rooms  int `json:"rooms"`
	Failed int `json:"failed,omitempty"`
}

// announceSend serves announce.send (organizers). With a room in the
// envelope the announcement goes to that room; without, to every room of
// the tenant that has been used (chat_rooms). In each room it is an
// ordinary sequenced event, so a reconnecting client gets it on resume.
func (s *Service) announceSend(ctx context.Context, rc *reqCtx, p *announceReq) (any, *protocol.Error) {
	ev := announcement{Text: p.Text, User: rc.user, Name: rc.claims.Name, Scope: scopeRoom, TS: ms(rc.now)}
	rooms := []string{rc.k.Room}
	if rc.k.Room == "" {
		ev.Scope = scopeConvention
		var err error
		if rooms, err = s.tenantRooms(ctx, rc.k); err != nil {
			return nil, unavailable("chat rooms")
		}
	}
	ack := announceAck{}
	var last *protocol.Error
	for _, room := range rooms {
		k := RoomKey{Tenant: rc.k.Tenant, Room: room}
		if k.Validate() != nil {
			continue
		}
		// Each room gets its own deadline: a convention has many rooms.
		if _, perr := s.appendEvent(context.WithoutCancel(ctx), k, typeAnnouncement, ev, rc.user); perr != nil {
			ack.Failed++
			last = perr
			continue
		}
		ack.Rooms++
	}
	if ack.Rooms == 0 && last != nil {
		return nil, last
	}
	return ack, nil
}

// tenantRooms lists the tenant's rooms from chat_rooms.
func (s *Service) tenantRooms(ctx context.Context, k RoomKey) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, err
	}
	var docs []roomDoc
	err := s.st.Collection(collRooms).Tenant(k.Tenant).Find(ctx, bson.D{}, &docs,
		options.Find().SetSort(bson.D{{Key: "room", Value: 1}}).SetLimit(maxAnnounceRooms))
	if err != nil {
		return nil, err
	}
	out := make([]string, len(docs))
	for i := range docs {
		out[i] = docs[i].Room
	}
	return out, nil
}
