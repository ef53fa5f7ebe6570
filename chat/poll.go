package chat

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
)

// maxPollsListed bounds the poll.list reply.
const maxPollsListed = 50

// pollDoc is a poll in chat_polls. Counts are not stored: they are computed
// from chat_votes, whose unique index makes each vote count once.
type pollDoc struct {
	ID       string   `bson:"pid"`
	Room     string   `bson:"room"`
	Question string   `bson:"question"`
	Options  []string `bson:"options"`
	Closed   bool     `bson:"closed"`
	User     string   `bson:"user"`
	TS       int64    `bson:"ts"`
}

// view is the poll with its results.
func (p *pollDoc) view(counts []int64, total int64) pollView {
	return pollView{ID: p.ID, Question: p.Question, Options: p.Options, Counts: counts, Total: total,
		Closed: p.Closed, User: p.User, TS: p.TS}
}

// idAck is the reply of requests that create something.
type idAck struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}

// pollCreate serves poll.create.
func (s *Service) pollCreate(ctx context.Context, rc *reqCtx, p *pollCreateReq) (any, *protocol.Error) {
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("polls")
	}
	doc := pollDoc{ID: newID("p"), Room: rc.k.Room, Question: p.Question, Options: p.Options, User: rc.user, TS: ms(rc.now)}
	if err := s.st.Collection(collPolls).Tenant(rc.k.Tenant).InsertOne(ctx, doc); err != nil {
		return nil, unavailable("polls")
	}
	ev, perr := s.appendEvent(ctx, rc.k, typePollCreated, doc.view(make([]int64, len(doc.Options)), 0), rc.user)
	if perr != nil {
		// Not announced: take it back so a retry leaves no duplicate.
		dctx, cancel := s.detached(ctx)
		defer cancel()
		_, _ = s.st.Collection(collPolls).Tenant(rc.k.Tenant).DeleteOne(dctx, bson.D{{Key: "pid", Value: doc.ID}})
		return nil, perr
	}
	return idAck{ID: doc.ID, Seq: ev.Seq}, nil
}

// poll loads poll id of the room.
func (s *Service) poll(ctx context.Context, k RoomKey, id string) (*pollDoc, *protocol.Error) {
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("polls")
	}
	var p pollDoc
	err := s.st.Collection(collPolls).Tenant(k.Tenant).FindOne(ctx, bson.D{{Key: "pid", Value: id}, {Key: "room", Value: k.Room}}, &p)
	if store.IsNotFound(err) {
		return nil, clientErr(protocol.CodeNotFound, "no poll %q in this room", id)
	}
	if err != nil {
		return nil, unavailable("polls")
	}
	return &p, nil
}

// pollVote serves poll.vote: one vote per user and poll, while open.
// Results go out as poll.results, coalesced per poll.
func (s *Service) pollVote(ctx context.Context, rc *reqCtx, p *voteReq) (any, *protocol.Error) {
	if perr := s.checkBanned(ctx, rc.k, rc.user); perr != nil {
		return nil, perr
	}
	poll, perr := s.poll(ctx, rc.k, p.ID)
	if perr != nil {
		return nil, perr
	}
	if poll.Closed {
		return nil, clientErr(protocol.CodeClosed, "the poll is closed")
	}
	if *p.Option >= len(poll.Options) {
		return nil, clientErr(protocol.CodeInvalidPayload, "option: 0 to %d", len(poll.Options)-1)
	}
	err := s.st.Collection(collVotes).Tenant(rc.k.Tenant).InsertOne(ctx,
		voteDoc{Kind: votePoll, Target: poll.ID, User: rc.user, Room: rc.k.Room, Option: *p.Option})
	if store.IsDuplicate(err) {
		return nil, clientErr(protocol.CodeAlreadyVoted, "you already voted in this poll")
	}
	if err != nil {
		return nil, unavailable("polls")
	}
	k, id := rc.k, poll.ID
	s.agg.schedule("p\x00"+string(k.Tenant)+"\x00"+id, func(ctx context.Context) {
		cur, perr := s.poll(ctx, k, id)
		if perr != nil {
			return
		}
		counts, total, err := s.pollCounts(ctx, k, cur)
		if err != nil {
			s.log.Warn("count poll votes", "tenant", k.Tenant, "room", k.Room, "err", err)
			return
		}
		s.appendEvent(ctx, k, typePollResults, pollResults{ID: id, Counts: counts, Total: total, Closed: cur.Closed}, "")
	})
	return struct{}{}, nil
}

// pollCounts counts a poll's votes per option.
func (s *Service) pollCounts(ctx context.Context, k RoomKey, p *pollDoc) ([]int64, int64, error) {
	var rows []struct {
		Option int   `bson:"_id"`
		N      int64 `bson:"n"`
	}
	err := s.st.Collection(collVotes).Tenant(k.Tenant).Aggregate(ctx, []bson.D{
		{{Key: "$match", Value: bson.D{{Key: "kind", Value: votePoll}, {Key: "target", Value: p.ID}}}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$option"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
	}, &rows)
	if err != nil {
		return nil, 0, err
	}
	counts := make([]int64, len(p.Options))
	var total int64
	for _, r := range rows {
		if r.Option >= 0 && r.Option < len(counts) {
			counts[r.Option] = r.N
			total += r.N
		}
	}
	return counts, total, nil
}

// pollClose serves poll.close: no more votes; the final results go out as
// poll.closed.
func (s *Service) pollClose(ctx context.Context, rc *reqCtx, p *idRef) (any, *protocol.Error) {
	poll, perr := s.poll(ctx, rc.k, p.ID)
	if perr != nil {
		return nil, perr
	}
	_, err := s.st.Collection(collPolls).Tenant(rc.k.Tenant).UpdateOne(ctx,
		bson.D{{Key: "pid", Value: poll.ID}, {Key: "room", Value: rc.k.Room}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "closed", Value: true}}}}, false)
	if err != nil {
		return nil, unavailable("polls")
	}
	counts, total, err := s.pollCounts(ctx, rc.k, poll)
	if err != nil {
		return nil, unavailable("polls")
	}
	ev, perr := s.appendEvent(ctx, rc.k, typePollClosed, pollResults{ID: poll.ID, Counts: counts, Total: total, Closed: true}, rc.user)
	if perr != nil {
		return nil, perr
	}
	return seqAck{Seq: ev.Seq}, nil
}

// pollListAck is the reply of poll.list.
type pollListAck struct {
	Polls []pollView `json:"polls"`
}

// pollList serves poll.list: the room's newest polls with their results.
func (s *Service) pollList(ctx context.Context, rc *reqCtx, _ *emptyReq) (any, *protocol.Error) {
	if perr := s.checkBanned(ctx, rc.k, rc.user); perr != nil {
		return nil, perr
	}
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("polls")
	}
	var docs []pollDoc
	if err := s.st.Collection(collPolls).Tenant(rc.k.Tenant).Find(ctx, bson.D{{Key: "room", Value: rc.k.Room}}, &docs,
		findNewest(maxPollsListed)); err != nil {
		return nil, unavailable("polls")
	}
	out := pollListAck{Polls: make([]pollView, 0, len(docs))}
	for i := range docs {
		counts, total, err := s.pollCounts(ctx, rc.k, &docs[i])
		if err != nil {
			return nil, unavailable("polls")
		}
		out.Polls = append(out.Polls, docs[i].view(counts, total))
	}
	return out, nil
}
