package chat

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
)

// chatSilence serves chat.silence: the user may still read but not post
// (chat, edits, reactions, questions) in the room or the whole convention.
func (s *Service) chatSilence(ctx context.Context, rc *reqCtx, p *restrictReq) (any, *protocol.Error) {
	return s.restrict(ctx, rc, p, kindSilence)
}

// chatBan serves chat.ban: a silence that also refuses history, replay and
// Q&A and poll listing. Removing the user from the room (and stopping live
// delivery) is the gateway's room ban.
func (s *Service) chatBan(ctx context.Context, rc *reqCtx, p *restrictReq) (any, *protocol.Error) {
	return s.restrict(ctx, rc, p, kindBan)
}

// restrict sets or lifts a restriction and announces it in the room with a
// chat.moderation event.
func (s *Service) restrict(ctx context.Context, rc *reqCtx, p *restrictReq, kind string) (any, *protocol.Error) {
	room := rc.k.Room
	if p.Scope == scopeConvention {
		room = ""
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("chat moderation state")
	}
	coll := s.st.Collection(collRestrictions).Tenant(rc.k.Tenant)
	f := bson.D{{Key: "kind", Value: kind}, {Key: "room", Value: room}, {Key: "user", Value: p.User}}
	ev := chatModeration{Action: kind, User: p.User, Scope: p.Scope, By: rc.user}
	var err error
	if p.Lift {
		ev.Action = "un" + kind
		_, err = coll.DeleteOne(ctx, f)
	} else {
		var until int64
		if p.Seconds > 0 {
			until = ms(rc.now.Add(time.Duration(p.Seconds) * time.Second))
		}
		ev.Until = until
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: bson.D{
			{Key: "until", Value: until}, {Key: "by", Value: rc.user},
		}}}, true)
		if store.IsDuplicate(err) { // a concurrent upsert created it: set it again
			_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: bson.D{
				{Key: "until", Value: until}, {Key: "by", Value: rc.user},
			}}}, false)
		}
	}
	if err != nil {
		return nil, unavailable("chat moderation state")
	}
	if room == "" {
		s.state.invalidateTenant(rc.k.Tenant)
	} else {
		s.state.invalidateRoom(rc.k)
	}
	e, perr := s.appendEvent(ctx, rc.k, typeModeration, ev, rc.user)
	if perr != nil {
		return nil, perr
	}
	return seqAck{Seq: e.Seq}, nil
}

// chatSlowMode serves chat.slowmode: attendees and speakers may post once
// per Seconds in the room (0 turns it off).
func (s *Service) chatSlowMode(ctx context.Context, rc *reqCtx, p *slowModeReq) (any, *protocol.Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if perr := s.setRoom(ctx, rc.k, bson.E{Key: "slow_mode", Value: p.Seconds}); perr != nil {
		return nil, perr
	}
	e, perr := s.appendEvent(ctx, rc.k, typeModeration, chatModeration{Action: "slowmode", Seconds: p.Seconds, By: rc.user}, rc.user)
	if perr != nil {
		return nil, perr
	}
	return seqAck{Seq: e.Seq}, nil
}

// setRoom updates fields of the room's settings document.
func (s *Service) setRoom(ctx context.Context, k RoomKey, fields ...bson.E) *protocol.Error {
	if err := s.idx.ensure(ctx, s); err != nil {
		return unavailable("chat room settings")
	}
	set := append(bson.D{{Key: "room", Value: k.Room}}, fields...)
	coll := s.st.Collection(collRooms).Tenant(k.Tenant)
	f := bson.D{{Key: "room", Value: k.Room}}
	_, err := coll.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: set}}, true)
	if store.IsDuplicate(err) {
		_, err = coll.UpdateOne(ctx, f, bson.D{{Key: "$set", Value: set}}, false)
	}
	if err != nil {
		return unavailable("chat room settings")
	}
	s.state.invalidateRoom(k)
	return nil
}

// filterAck is the reply of chat.filter.
type filterAck struct {
	Words int `json:"words"`
}

// chatFilter serves chat.filter: replace the tenant's word filter.
func (s *Service) chatFilter(ctx context.Context, rc *reqCtx, p *filterReq) (any, *protocol.Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("chat word filter")
	}
	coll := s.st.Collection(collSettings).Tenant(rc.k.Tenant)
	f := bson.D{{Key: "kind", Value: settingFilter}}
	u := bson.D{{Key: "$set", Value: bson.D{{Key: "kind", Value: settingFilter}, {Key: "words", Value: p.Words}}}}
	_, err := coll.UpdateOne(ctx, f, u, true)
	if store.IsDuplicate(err) {
		_, err = coll.UpdateOne(ctx, f, u, false)
	}
	if err != nil {
		return nil, unavailable("chat word filter")
	}
	s.state.invalidateTenant(rc.k.Tenant)
	return filterAck{Words: len(p.Words)}, nil
}

// reportDoc is a report in chat_reports.
type reportDoc struct {
	Room     string `bson:"room" json:"-"`
	Message  uint64 `bson:"message" json:"message"`
	Reporter string `bson:"reporter" json:"reporter"`
	Reason   string `bson:"reason,omitempty" json:"reason,omitempty"`
	TS       int64  `bson:"ts" json:"ts"`
}

// chatReport serves chat.report; reporting a message twice is a no-op.
func (s *Service) chatReport(ctx context.Context, rc *reqCtx, p *reportReq) (any, *protocol.Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if _, _, perr := s.message(ctx, rc.k, p.Message); perr != nil {
		return nil, perr
	}
	err := s.st.Collection(collReports).Tenant(rc.k.Tenant).InsertOne(ctx, reportDoc{
		Room: rc.k.Room, Message: p.Message, Reporter: rc.user, Reason: p.Reason, TS: ms(rc.now),
	})
	if err != nil && !store.IsDuplicate(err) {
		return nil, unavailable("chat reports")
	}
	return struct{}{}, nil
}

// reportsAck is the reply of chat.reports.
type reportsAck struct {
	Reports []reportDoc `json:"reports"`
}

// maxReportsListed bounds the chat.reports reply.
const maxReportsListed = 200

// chatReports serves chat.reports: the room's reports, newest first.
func (s *Service) chatReports(ctx context.Context, rc *reqCtx, _ *emptyReq) (any, *protocol.Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("chat reports")
	}
	out := reportsAck{Reports: []reportDoc{}}
	err := s.st.Collection(collReports).Tenant(rc.k.Tenant).Find(ctx, bson.D{{Key: "room", Value: rc.k.Room}}, &out.Reports,
		findNewest(maxReportsListed))
	if err != nil {
		return nil, unavailable("chat reports")
	}
	return out, nil
}
