package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
)

// maxReactionsPerUser bounds the distinct emoji one user puts on one message.
const maxReactionsPerUser = 10

// chatSend serves chat.send.
func (s *Service) chatSend(ctx context.Context, rc *reqCtx, p *sendReq) (any, *protocol.Error) {
	if perr := s.checkPost(ctx, rc); perr != nil {
		return nil, perr
	}
	if perr := s.checkFilter(ctx, rc.k.Tenant, p.Text); perr != nil {
		return nil, perr
	}
	release := func() {}
	if !rc.moderator() {
		st, err := s.state.room(ctx, rc.k)
		if err != nil {
			return nil, unavailable("chat room settings")
		}
		if st.settings.SlowMode > 0 {
			interval := time.Duration(st.settings.SlowMode) * time.Second
			wait, prev, ok := s.slow.reserve(rc.k, rc.user, interval, rc.now)
			if !ok {
				return nil, &protocol.Error{Code: protocol.CodeSlowMode, Retryable: true,
					Message: fmt.Sprintf("slow mode: wait %.0f s", max(1, wait.Seconds()))}
			}
			release = func() { s.slow.release(rc.k, rc.user, prev, rc.now) }
		}
	}
	ev, perr := s.appendEvent(ctx, rc.k, typeMessage, chatMessage{
		User: rc.user, Name: rc.claims.Name, Role: rc.claims.Role.String(),
		Text: p.Text, ReplyTo: p.ReplyTo, Nonce: p.Nonce, TS: ms(rc.now),
	}, rc.user)
	if perr != nil {
		release() // a failed send does not count against slow mode
		return nil, perr
	}
	return seqAck{Seq: ev.Seq}, nil
}

// message loads chat message seq of k from the archive; CodeNotFound when
// there is none or it was deleted.
func (s *Service) message(ctx context.Context, k RoomKey, seq uint64) (*eventDoc, *chatMessage, *protocol.Error) {
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, nil, unavailable("chat archive")
	}
	if err := s.arch.sync(ctx); err != nil { // a message just sent may still be queued
		return nil, nil, unavailable("chat archive")
	}
	d, err := s.arch.get(ctx, k, seq)
	if store.IsNotFound(err) {
		return nil, nil, clientErr(protocol.CodeNotFound, "no message %d in this room", seq)
	}
	if err != nil {
		return nil, nil, unavailable("chat archive")
	}
	var m chatMessage
	if d.Type != typeMessage || json.Unmarshal([]byte(d.Data), &m) != nil || m.Deleted {
		return nil, nil, clientErr(protocol.CodeNotFound, "no message %d in this room", seq)
	}
	return d, &m, nil
}

// ownOrModerate refuses changing another user's message without the
// moderator role.
func ownOrModerate(rc *reqCtx, d *eventDoc) *protocol.Error {
	if d.Author != rc.user && !rc.moderator() {
		return clientErr(protocol.CodeForbidden, "only the author or a moderator may change message %d", d.Seq)
	}
	return nil
}

// chatEdit serves chat.edit: the archived message is rewritten (so pages
// show the new text) and a chat.edited event tells live clients.
func (s *Service) chatEdit(ctx context.Context, rc *reqCtx, p *editReq) (any, *protocol.Error) {
	if perr := s.checkPost(ctx, rc); perr != nil {
		return nil, perr
	}
	if perr := s.checkFilter(ctx, rc.k.Tenant, p.Text); perr != nil {
		return nil, perr
	}
	d, m, perr := s.message(ctx, rc.k, p.Message)
	if perr != nil {
		return nil, perr
	}
	if perr := ownOrModerate(rc, d); perr != nil {
		return nil, perr
	}
	m.Text, m.Edited = p.Text, true
	if perr := s.rewrite(ctx, rc.k, p.Message, m); perr != nil {
		return nil, perr
	}
	ev, perr := s.appendEvent(ctx, rc.k, typeEdited, chatEdited{Message: p.Message, Text: p.Text, By: rc.user, TS: ms(rc.now)}, rc.user)
	if perr != nil {
		return nil, perr
	}
	return seqAck{Seq: ev.Seq}, nil
}

// chatDelete serves chat.delete: the archived text is erased and a
// chat.deleted event tells live clients; replays redact the message too.
func (s *Service) chatDelete(ctx context.Context, rc *reqCtx, p *messageRef) (any, *protocol.Error) {
	d, m, perr := s.message(ctx, rc.k, p.Message)
	if perr != nil {
		return nil, perr
	}
	if perr := ownOrModerate(rc, d); perr != nil {
		return nil, perr
	}
	m.Text, m.Deleted, m.Edited, m.ReplyTo = "", true, false, 0
	if perr := s.rewrite(ctx, rc.k, p.Message, m); perr != nil {
		return nil, perr
	}
	ev, perr := s.appendEvent(ctx, rc.k, typeDeleted, chatDeleted{Message: p.Message, By: rc.user, TS: ms(rc.now)}, rc.user)
	if perr != nil {
		return nil, perr
	}
	return seqAck{Seq: ev.Seq}, nil
}

// rewrite stores the new state of an archived message.
func (s *Service) rewrite(ctx context.Context, k RoomKey, seq uint64, m *chatMessage) *protocol.Error {
	raw, err := json.Marshal(m)
	if err != nil {
		return internalErr()
	}
	if err := s.arch.rewrite(ctx, k, seq, raw); err != nil {
		return unavailable("chat archive")
	}
	return nil
}

// reactionDoc is one user's emoji on one message in chat_reactions.
type reactionDoc struct {
	Room    string `bson:"room"`
	Message uint64 `bson:"message"`
	Emoji   string `bson:"emoji"`
	User    string `bson:"user"`
}

// chatReact serves chat.react: add (idempotent) or remove one emoji. The
// count is published as chat.reaction, coalesced per message and emoji.
func (s *Service) chatReact(ctx context.Context, rc *reqCtx, p *reactReq) (any, *protocol.Error) {
	if perr := s.checkPost(ctx, rc); perr != nil {
		return nil, perr
	}
	if _, _, perr := s.message(ctx, rc.k, p.Message); perr != nil {
		return nil, perr
	}
	coll := s.st.Collection(collReactions).Tenant(rc.k.Tenant)
	doc := reactionDoc{Room: rc.k.Room, Message: p.Message, Emoji: p.Emoji, User: rc.user}
	if p.Remove {
		if _, err := coll.DeleteOne(ctx, doc); err != nil {
			return nil, unavailable("chat reactions")
		}
	} else {
		n, err := coll.Count(ctx, bson.D{{Key: "room", Value: rc.k.Room}, {Key: "message", Value: p.Message}, {Key: "user", Value: rc.user}})
		if err != nil {
			return nil, unavailable("chat reactions")
		}
		if n >= maxReactionsPerUser {
			return nil, clientErr(protocol.CodeInvalidPayload, "at most %d reactions per message", maxReactionsPerUser)
		}
		if err := coll.InsertOne(ctx, doc); err != nil && !store.IsDuplicate(err) {
			return nil, unavailable("chat reactions")
		}
	}
	k := rc.k
	s.agg.schedule(fmt.Sprintf("r\x00%s\x00%s\x00%d\x00%s", k.Tenant, k.Room, p.Message, p.Emoji), func(ctx context.Context) {
		n, err := coll.Count(ctx, bson.D{{Key: "room", Value: k.Room}, {Key: "message", Value: p.Message}, {Key: "emoji", Value: p.Emoji}})
		if err != nil {
			s.log.Warn("count reactions", "tenant", k.Tenant, "room", k.Room, "err", err)
			return
		}
		s.appendEvent(ctx, k, typeReaction, chatReaction{Message: p.Message, Emoji: p.Emoji, Count: n}, "")
	})
	return struct{}{}, nil
}

// historyPage is the reply of chat.history and the body of the REST
// endpoint.
type historyPage struct {
	Room   string     `json:"room"`
	Events []*pageRow `json:"events"`
	// More reports that older messages exist; ask again with Before set to
	// the first event's seq.
	More bool `json:"more"`
}

// pageRow is one event of a page.
type pageRow struct {
	Type string          `json:"type"`
	Seq  uint64          `json:"seq"`
	Data json.RawMessage `json:"data"`
}

// chatHistory serves chat.history: older messages, from the archive.
func (s *Service) chatHistory(ctx context.Context, rc *reqCtx, p *historyReq) (any, *protocol.Error) {
	return s.page(ctx, rc.k, rc.user, p.Before, p.Limit)
}

// page returns chat messages and announcements of k before seq before (0:
// the newest), current state (edits, deletions, reaction counts) applied.
func (s *Service) page(ctx context.Context, k RoomKey, user string, before uint64, limit int) (*historyPage, *protocol.Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.BackendTimeout)
	defer cancel()
	if perr := s.checkBanned(ctx, k, user); perr != nil {
		return nil, perr
	}
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("chat archive")
	}
	if err := s.arch.sync(ctx); err != nil { // pages include the newest messages
		return nil, unavailable("chat archive")
	}
	evs, more, err := s.arch.page(ctx, k, before, limit, pageTypes)
	if err != nil {
		return nil, unavailable("chat archive")
	}
	out := &historyPage{Room: k.Room, Events: make([]*pageRow, 0, len(evs)), More: more}
	var seqs []uint64
	for _, e := range evs {
		if e.Type == typeMessage {
			seqs = append(seqs, e.Seq)
		}
	}
	counts, err := s.reactionCounts(ctx, k, seqs)
	if err != nil {
		return nil, unavailable("chat reactions")
	}
	for _, e := range evs {
		row := &pageRow{Type: e.Type, Seq: e.Seq, Data: e.Data}
		if c := counts[e.Seq]; len(c) > 0 {
			var m chatMessage
			if json.Unmarshal(e.Data, &m) == nil && !m.Deleted {
				m.Reactions = c
				if raw, err := json.Marshal(m); err == nil {
					row.Data = raw
				}
			}
		}
		out.Events = append(out.Events, row)
	}
	return out, nil
}

// reactionCounts returns emoji counts per message for seqs.
func (s *Service) reactionCounts(ctx context.Context, k RoomKey, seqs []uint64) (map[uint64]map[string]int64, error) {
	out := make(map[uint64]map[string]int64)
	if len(seqs) == 0 {
		return out, nil
	}
	var rows []struct {
		ID struct {
			Message int64  `bson:"message"`
			Emoji   string `bson:"emoji"`
		} `bson:"_id"`
		N int64 `bson:"n"`
	}
	err := s.st.Collection(collReactions).Tenant(k.Tenant).Aggregate(ctx, []bson.D{
		{{Key: "$match", Value: bson.D{{Key: "room", Value: k.Room}, {Key: "message", Value: bson.D{{Key: "$in", Value: seqs}}}}}},
		{{Key: "$group", Value: bson.D{
			{Key: "_id", Value: bson.D{{Key: "message", Value: "$message"}, {Key: "emoji", Value: "$emoji"}}},
			{Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}},
		}}},
	}, &rows)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		m := out[uint64(r.ID.Message)]
		if m == nil {
			m = make(map[string]int64)
			out[uint64(r.ID.Message)] = m
		}
		m[r.ID.Emoji] = r.N
	}
	return out, nil
}

// findNewest sorts by ts descending and keeps n documents.
func findNewest(n int64) *options.FindOptionsBuilder {
	return options.Find().SetSort(bson.D{{Key: "ts", Value: -1}}).SetLimit(n)
}
