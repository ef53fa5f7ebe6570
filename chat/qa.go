package chat

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/internal/store"
)

// maxQuestionsListed bounds the qa.list reply.
const maxQuestionsListed = 500

// Vote kinds in chat_votes.
const (
	voteQA   = "qa"
	votePoll = "poll"
)

// questionDoc is a question in chat_questions.
type questionDoc struct {
	ID     string `bson:"qid"`
	Room   string `bson:"room"`
	User   string `bson:"user"`
	Name   string `bson:"name,omitempty"`
	Text   string `bson:"text"`
	Status string `bson:"status"`
	Pinned bool   `bson:"pinned"`
	Votes  int64  `bson:"votes"`
	Answer string `bson:"answer,omitempty"`
	TS     int64  `bson:"ts"`
}

// view is the question as clients see it. A dismissed question's text is
// not sent again: it may never have been public.
func (q *questionDoc) view() questionView {
	v := questionView{ID: q.ID, User: q.User, Name: q.Name, Text: q.Text, Status: q.Status,
		Pinned: q.Pinned, Votes: q.Votes, Answer: q.Answer, TS: q.TS}
	if q.Status == statusDismissed {
		v.Text, v.Answer = "", ""
	}
	return v
}

// public reports whether attendees see the question.
func (q *questionDoc) public() bool { return q.Status == statusApproved || q.Status == statusAnswered }

// voteDoc is one vote in chat_votes; (kind, target, user) is unique, which
// is what makes votes count once even with several processes.
type voteDoc struct {
	Kind   string `bson:"kind"`
	Target string `bson:"target"`
	User   string `bson:"user"`
	Room   string `bson:"room"`
	Option int    `bson:"option,omitempty"`
}

// askAck is the reply of qa.ask.
type askAck struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Seq    uint64 `json:"seq,omitempty"`
}

// qaAsk serves qa.ask. With pre-moderation the question waits as pending
// (the room gets a qa.queue hint for moderators) until approved.
func (s *Service) qaAsk(ctx context.Context, rc *reqCtx, p *askReq) (any, *protocol.Error) {
	if perr := s.checkPost(ctx, rc); perr != nil {
		return nil, perr
	}
	if perr := s.checkFilter(ctx, rc.k.Tenant, p.Text); perr != nil {
		return nil, perr
	}
	st, err := s.state.room(ctx, rc.k)
	if err != nil {
		return nil, unavailable("chat room settings")
	}
	if st.settings.QAClosed {
		return nil, clientErr(protocol.CodeClosed, "questions are closed in this room")
	}
	q := questionDoc{ID: newID("q"), Room: rc.k.Room, User: rc.user, Name: rc.claims.Name, Text: p.Text,
		Status: statusApproved, TS: ms(rc.now)}
	if st.settings.Premoderation && !rc.moderator() {
		q.Status = statusPending
	}
	coll := s.st.Collection(collQuestions).Tenant(rc.k.Tenant)
	if err := coll.InsertOne(ctx, q); err != nil {
		return nil, unavailable("Q&A")
	}
	if q.Status == statusPending {
		n, err := coll.Count(ctx, bson.D{{Key: "room", Value: rc.k.Room}, {Key: "status", Value: statusPending}})
		if err == nil {
			s.appendEvent(ctx, rc.k, typeQueue, qaQueue{Pending: n}, "")
		}
		return askAck{ID: q.ID, Status: q.Status}, nil
	}
	ev, perr := s.appendEvent(ctx, rc.k, typeQuestion, q.view(), rc.user)
	if perr != nil {
		// Not announced: take it back, so that the client's retry does not
		// leave a duplicate behind.
		dctx, cancel := s.detached(ctx)
		defer cancel()
		_, _ = coll.DeleteOne(dctx, bson.D{{Key: "qid", Value: q.ID}})
		return nil, perr
	}
	return askAck{ID: q.ID, Status: q.Status, Seq: ev.Seq}, nil
}

// question loads question id of the room; CodeNotFound if none, or if it
// is not public and the requester is no moderator.
func (s *Service) question(ctx context.Context, rc *reqCtx, id string) (*questionDoc, *protocol.Error) {
	if err := s.idx.ensure(ctx, s); err != nil {
		return nil, unavailable("Q&A")
	}
	var q questionDoc
	err := s.st.Collection(collQuestions).Tenant(rc.k.Tenant).FindOne(ctx,
		bson.D{{Key: "qid", Value: id}, {Key: "room", Value: rc.k.Room}}, &q)
	if store.IsNotFound(err) || (err == nil && !q.public() && !rc.moderator()) {
		return nil, clientErr(protocol.CodeNotFound, "no question %q in this room", id)
	}
	if err != nil {
		return nil, unavailable("Q&A")
	}
	return &q, nil
}

// qaUpvote serves qa.upvote: once per user and question.
func (s *Service) qaUpvote(ctx context.Context, rc *reqCtx, p *idRef) (any, *protocol.Error) {
	if perr := s.checkBanned(ctx, rc.k, rc.user); perr != nil {
		return nil, perr
	}
	q, perr := s.question(ctx, rc, p.ID)
	if perr != nil {
		return nil, perr
	}
	if !q.public() {
		return nil, clientErr(protocol.CodeNotFound, "question %q is not open for votes", p.ID)
	}
	err := s.st.Collection(collVotes).Tenant(rc.k.Tenant).InsertOne(ctx, voteDoc{Kind: voteQA, Target: q.ID, User: rc.user, Room: rc.k.Room})
	if store.IsDuplicate(err) {
		return nil, clientErr(protocol.CodeAlreadyVoted, "you already upvoted this question")
	}
	if err != nil {
		return nil, unavailable("Q&A")
	}
	k, id := rc.k, q.ID
	s.agg.schedule("q\x00"+string(k.Tenant)+"\x00"+id, func(ctx context.Context) { s.flushQuestion(ctx, k, id) })
	return struct{}{}, nil
}

// flushQuestion recounts a question's votes from the vote documents, stores
// the count (the qa.list order) and publishes the question.
func (s *Service) flushQuestion(ctx context.Context, k RoomKey, id string) {
	n, err := s.st.Collection(collVotes).Tenant(k.Tenant).Count(ctx, bson.D{{Key: "kind", Value: voteQA}, {Key: "target", Value: id}})
	if err != nil {
		s.log.Warn("count question votes", "tenant", k.Tenant, "room", k.Room, "err", err)
		return
	}
	q, perr := s.updateQuestion(ctx, k, id, bson.E{Key: "votes", Value: n})
	if perr != nil {
		s.log.Warn("store question votes", "tenant", k.Tenant, "room", k.Room, "err", perr)
		return
	}
	s.appendEvent(ctx, k, typeQuestion, q.view(), "")
}

// updateQuestion sets fields of a question and returns its new state.
func (s *Service) updateQuestion(ctx context.Context, k RoomKey, id string, set ...bson.E) (*questionDoc, *protocol.Error) {
	var q questionDoc
	err := s.st.Collection(collQuestions).Tenant(k.Tenant).FindOneAndUpdate(ctx,
		bson.D{{Key: "qid", Value: id}, {Key: "room", Value: k.Room}},
		bson.D{{Key: "$set", Value: bson.D(set)}}, &q, false)
	if store.IsNotFound(err) {
		return nil, clientErr(protocol.CodeNotFound, "no question %q in this room", id)
	}
	if err != nil {
		return nil, unavailable("Q&A")
	}
	return &q, nil
}

// moderateQuestion applies a moderator's change and publishes the result.
func (s *Service) moderateQuestion(ctx context.Context, rc *reqCtx, id string, set ...bson.E) (any, *protocol.Error) {
	if _, perr := s.question(ctx, rc, id); perr != nil {
		return nil, perr
	}
	q, perr := s.updateQuestion(ctx, rc.k, id, set...)
	if perr != nil {
		return nil, perr
	}
	ev, perr := s.appendEvent(ctx, rc.k, typeQuestion, q.view(), rc.user)
	if perr != nil {
		return nil, perr
	}
	return seqAck{Seq: ev.Seq}, nil
}

// qaApprove serves qa.approve: a pending (or dismissed) question becomes
// public.
func (s *Service) qaApprove(ctx context.Context, rc *reqCtx, p *idRef) (any, *protocol.Error) {
	return s.moderateQuestion(ctx, rc, p.ID, bson.E{Key: "status", Value: statusApproved})
}

// qaAnswer serves qa.answer: marks the question answered, optionally with a
// written answer.
func (s *Service) qaAnswer(ctx context.Context, rc *reqCtx, p *answerReq) (any, *protocol.Error) {
	set := []bson.E{{Key: "status", Value: statusAnswered}}
	if p.Answer != "" {
		set = append(set, bson.E{Key: "answer", Value: p.Answer})
	}
	return s.moderateQuestion(ctx, rc, p.ID, set...)
}

// qaDismiss serves qa.dismiss: the question leaves everyone's list.
func (s *Service) qaDismiss(ctx context.Context, rc *reqCtx, p *idRef) (any, *protocol.Error) {
	return s.moderateQuestion(ctx, rc, p.ID, bson.E{Key: "status", Value: statusDismissed}, bson.E{Key: "pinned", Value: false})
}

// qaPin serves qa.pin: pinned questions sort first.
func (s *Service) qaPin(ctx context.Context, rc *reqCtx, p *pinReq) (any, *protocol.Error) {
	return s.moderateQuestion(ctx, rc, p.ID, bson.E{Key: "pinned", Value: *p.Pinned})
}

// qaListAck is the reply of qa.list.
type qaListAck struct {
	Questions []questionView `json:"questions"`
	Settings  qaSettings     `json:"settings"`
}

// qaList serves qa.list: the room's questions, pinned first, then by votes,
// then oldest first. Attendees see public questions; pending and dismissed
// ones need a moderator.
func (s *Service) qaList(ctx context.Context, rc *reqCtx, p *qaListReq) (any, *protocol.Error) {
	if perr := s.checkBanned(ctx, rc.k, rc.user); perr != nil {
		return nil, perr
	}
	f := bson.D{{Key: "room", Value: rc.k.Room}}
	switch {
	case p.Status != "" && (p.Status == statusApproved || p.Status == statusAnswered || rc.moderator()):
		f = append(f, bson.E{Key: "status", Value: p.Status})
	case p.Status != "":
		return nil, errForbidden("listing " + p.Status + " questions")
	default:
		f = append(f, bson.E{Key: "status", Value: bson.D{{Key: "$in", Value: []string{statusApproved, statusAnswered}}}})
	}
	st, err := s.state.room(ctx, rc.k)
	if err != nil {
		return nil, unavailable("Q&A")
	}
	var docs []questionDoc
	err = s.st.Collection(collQuestions).Tenant(rc.k.Tenant).Find(ctx, f, &docs, options.Find().
		SetSort(bson.D{{Key: "pinned", Value: -1}, {Key: "votes", Value: -1}, {Key: "ts", Value: 1}}).
		SetLimit(maxQuestionsListed))
	if err != nil {
		return nil, unavailable("Q&A")
	}
	out := qaListAck{Questions: make([]questionView, len(docs)),
		Settings: qaSettings{Premoderation: st.settings.Premoderation, Open: !st.settings.QAClosed}}
	for i := range docs {
		out.Questions[i] = docs[i].view()
	}
	return out, nil
}

// qaSettings serves qa.settings: pre-moderation on or off, Q&A open or
// closed; the new settings are published as a qa.settings event.
func (s *Service) qaSettings(ctx context.Context, rc *reqCtx, p *qaSettingsReq) (any, *protocol.Error) {
	var set []bson.E
	if p.Premoderation != nil {
		set = append(set, bson.E{Key: "premoderation", Value: *p.Premoderation})
	}
	if p.Open != nil {
		set = append(set, bson.E{Key: "qa_closed", Value: !*p.Open})
	}
	if len(set) > 0 {
		if perr := s.setRoom(ctx, rc.k, set...); perr != nil {
			return nil, perr
		}
	}
	st, err := s.state.room(ctx, rc.k)
	if err != nil {
		return nil, unavailable("Q&A")
	}
	cur := qaSettings{Premoderation: st.settings.Premoderation, Open: !st.settings.QAClosed}
	if len(set) > 0 {
		if _, perr := s.appendEvent(ctx, rc.k, typeQASettings, cur, rc.user); perr != nil {
			return nil, perr
		}
	}
	return cur, nil
}
