package chat

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// reqCtx is what a handler knows about the request it serves. The tenant
// always comes from the connection's verified token, never from a payload.
type reqCtx struct {
	c      protocol.Conn
	claims *auth.Claims
	k      RoomKey // zero Room for convention-wide requests
	user   string  // claims.Subject
	now    time.Time
}

// moderator reports whether the requester may moderate.
func (rc *reqCtx) moderator() bool { return rc.claims.Role.AtLeast(auth.RoleModerator) }

// route describes one message type: who may send it, where, and how it is
// decoded and served.
type route struct {
	// minRole is the lowest role allowed to send the type.
	minRole auth.Role
	// room: the envelope must name a room the connection has joined;
	// optionalRoom: it may name none (convention-wide announcements).
	room, optionalRoom bool
	// write: the request counts against the per-user rate limit.
	write bool
	// decode parses and validates the payload.
	decode func(e *protocol.Envelope, cfg *Config) (any, *protocol.Error)
	// serve handles the decoded payload.
	serve func(s *Service, ctx context.Context, rc *reqCtx, p any) (any, *protocol.Error)
}

// payload is implemented by every request payload type.
type payload[T any] interface {
	*T
	validate(cfg *Config) *protocol.Error
}

// decodeAs decodes e.Data strictly into a fresh T and validates it.
func decodeAs[T any, PT payload[T]](e *protocol.Envelope, cfg *Config) (any, *protocol.Error) {
	p := PT(new(T))
	if err := protocol.DecodeData(e, p); err != nil {
		return nil, err
	}
	if err := p.validate(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// handler builds a route serving payload type T with fn.
func handler[T any, PT payload[T]](r route, fn func(s *Service, ctx context.Context, rc *reqCtx, p PT) (any, *protocol.Error)) route {
	r.decode = decodeAs[T, PT]
	r.serve = func(s *Service, ctx context.Context, rc *reqCtx, p any) (any, *protocol.Error) {
		return fn(s, ctx, rc, p.(PT))
	}
	return r
}

// Role requirements and flags shared by many routes.
var (
	member    = route{minRole: auth.RoleAttendee, room: true}
	writer    = route{minRole: auth.RoleAttendee, room: true, write: true}
	moderates = route{minRole: auth.RoleModerator, room: true}
)

// routes maps every message type the service handles. docs/protocol-chat.md
// and docs/protocol/<type>.json describe each.
var routes = map[string]route{
	"chat.send":     handler(writer, (*Service).chatSend),
	"chat.edit":     handler(writer, (*Service).chatEdit),
	"chat.delete":   handler(writer, (*Service).chatDelete),
	"chat.react":    handler(writer, (*Service).chatReact),
	"chat.history":  handler(member, (*Service).chatHistory),
	"chat.replay":   handler(member, (*Service).chatReplay),
	"chat.report":   handler(writer, (*Service).chatReport),
	"chat.reports":  handler(moderates, (*Service).chatReports),
	"chat.silence":  handler(moderates, (*Service).chatSilence),
	"chat.ban":      handler(moderates, (*Service).chatBan),
	"chat.slowmode": handler(moderates, (*Service).chatSlowMode),
	"chat.filter":   handler(route{minRole: auth.RoleOrganizer, optionalRoom: true}, (*Service).chatFilter),
	"qa.ask":        handler(writer, (*Service).qaAsk),
	"qa.upvote":     handler(writer, (*Service).qaUpvote),
	"qa.approve":    handler(moderates, (*Service).qaApprove),
	"qa.answer":     handler(moderates, (*Service).qaAnswer),
	"qa.dismiss":    handler(moderates, (*Service).qaDismiss),
	"qa.pin":        handler(moderates, (*Service).qaPin),
	"qa.list":       handler(member, (*Service).qaList),
	"qa.settings":   handler(moderates, (*Service).qaSettings),
	"poll.create":   handler(moderates, (*Service).pollCreate),
	"poll.vote":     handler(writer, (*Service).pollVote),
	"poll.close":    handler(moderates, (*Service).pollClose),
	"poll.list":     handler(member, (*Service).pollList),
	"announce.send": handler(route{minRole: auth.RoleOrganizer, optionalRoom: true}, (*Service).announceSend),
}

// Types lists the message types Handle serves, for the gateway's router.
func Types() []string {
	out := make([]string, 0, len(routes))
	for t := range routes {
		out = append(out, t)
	}
	return out
}

// Prefixes returns the type prefixes the service owns; the gateway routes
// every type starting with one of them to Handle.
func Prefixes() []string { return []string{"chat.", "qa.", "poll.", "announce."} }

// Handle implements protocol.Handler: it checks role, room membership and
// the rate limit, decodes the payload strictly and serves it.
func (s *Service) Handle(ctx context.Context, c protocol.Conn, e *protocol.Envelope) (any, *protocol.Error) {
	reply, err := s.handle(ctx, c, e)
	if err != nil {
		requestErrors.WithLabelValues(strconv.Itoa(err.Code)).Inc()
	}
	return reply, err
}

// handle is Handle without the error metric.
func (s *Service) handle(ctx context.Context, c protocol.Conn, e *protocol.Envelope) (any, *protocol.Error) {
	r, ok := routes[e.Type]
	if !ok {
		return nil, clientErr(protocol.CodeUnknownType, "unknown message type %q", e.Type)
	}
	claims := c.Claims()
	if claims == nil || !claims.Tenant.Valid() || claims.Tenant != c.Tenant() {
		return nil, clientErr(protocol.CodeUnauthorized, "connection is not authenticated")
	}
	if !claims.Role.AtLeast(r.minRole) {
		return nil, errForbidden(strings.TrimSpace(e.Type))
	}
	rc := &reqCtx{c: c, claims: claims, k: RoomKey{Tenant: claims.Tenant}, user: claims.Subject, now: s.now()}
	switch {
	case r.room || (r.optionalRoom && e.Room != ""):
		if validRoom(e.Room) != nil {
			return nil, clientErr(protocol.CodeInvalidPayload, "a valid room is required (1-%d letters, digits, '.', '_' or '-')", MaxRoomLen)
		}
		if r.room && !c.Joined(e.Room) {
			return nil, errNotInRoom(e.Room)
		}
		rc.k.Room = e.Room
	}
	p, perr := r.decode(e, &s.cfg)
	if perr != nil {
		return nil, perr
	}
	if n, ok := p.(interface{ namedTenant() string }); ok && n.namedTenant() != "" && n.namedTenant() != string(claims.Tenant) {
		return nil, clientErr(protocol.CodeWrongTenant, "the room belongs to another tenant")
	}
	if r.write && !s.rate.allow(string(claims.Tenant)+"\x00"+claims.Subject, rc.now) {
		return nil, &protocol.Error{Code: protocol.CodeRateLimited, Message: "too many messages; slow down", Retryable: true}
	}
	budget := 2 * s.cfg.BackendTimeout
	if e.Type == "chat.replay" {
		budget = replayBudget * s.cfg.BackendTimeout // may wait for the archive writer (resume.go)
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	return r.serve(s, ctx, rc, p)
}
