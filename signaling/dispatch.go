package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// sessionHandler serves a built-in type that is not tied to a joined room.
type sessionHandler func(ctx context.Context, c *conn, s *session, e *protocol.Envelope) (any, *protocol.Error)

// roomHandler serves a built-in type about a room the session has joined;
// the dispatcher has resolved the membership.
type roomHandler func(ctx context.Context, m *member, e *protocol.Envelope) (any, *protocol.Error)

// replied is returned by handlers that queued their reply themselves (join,
// which orders its reply before the room's events).
type replied struct{}

// sessionHandlers and roomHandlers are the built-in types.
func (g *Gateway) sessionHandlers() map[string]sessionHandler {
	return map[string]sessionHandler{
		typeJoin:   g.handleJoin,
		typePing:   g.handlePing,
		typeResume: handleLateResume,
	}
}

// roomHandlers maps the built-in room types to their handlers.
func (g *Gateway) roomHandlers() map[string]roomHandler {
	return map[string]roomHandler{
		typeLeave:            g.handleLeave,
		typeMediaOffer:       g.handleMediaOffer,
		typeMediaAnswer:      g.handleMediaAnswer,
		typeMediaICE:         g.handleMediaICE,
		typeMediaSubscribe:   g.handleMediaSubscribe,
		typeMediaUnsubscribe: g.handleMediaUnsubscribe,
		typeMediaPrefs:       g.handleMediaPrefs,
		typeMediaRestart:     g.handleMediaRestart,
		typeMediaMute:        g.handleMediaMute,
		typeModPromote:       g.handleModTarget(opPromote),
		typeModDemote:        g.handleModTarget(opDemote),
		typeModMute:          g.handleModTarget(opMute),
		typeModUnmute:        g.handleModTarget(opUnmute),
		typeModRemove:        g.handleModTarget(opRemove),
		typeModBan:           g.handleModTarget(opBan),
		typeModLock:          g.handleModLock,
		typeHandRaise:        g.handleHandRaise,
		typeHandLower:        g.handleHandLower,
	}
}

// dispatch routes one decoded request and queues its reply: an ack (when the
// request had an id) or an error. Every path checks what it needs: tenant
// from the token, room grant at join, membership for room types, role in the
// room for moderation and publishing.
func (g *Gateway) dispatch(ctx context.Context, c *conn, s *session, e *protocol.Envelope) {
	metricRequests.WithLabelValues(g.typeLabel(e.Type)).Inc()
	reply, pe := g.route(ctx, c, s, e)
	if _, ok := reply.(replied); ok && pe == nil {
		return
	}
	s.reply(e, reply, pe)
}

// route finds and runs the handler of e.
func (g *Gateway) route(ctx context.Context, c *conn, s *session, e *protocol.Envelope) (any, *protocol.Error) {
	if h, ok := g.sessionRoutes[e.Type]; ok {
		return h(ctx, c, s, e)
	}
	if h, ok := g.roomRoutes[e.Type]; ok {
		if err := validRoom(e.Room); err != nil {
			return nil, perr(protocol.CodeInvalidPayload, "a valid room is required")
		}
		// A request naming another tenant is refused as such, before the
		// membership check, so the client learns the real reason.
		if pe := checkTenant(s, namedTenant(e)); pe != nil {
			return nil, pe
		}
		m := s.member(e.Room)
		if m == nil {
			return nil, perr(protocol.CodeNotInRoom, "join the room first")
		}
		return h(ctx, m, e)
	}
	if h := g.handlerFor(e.Type); h != nil {
		if e.Room != "" && !s.Joined(e.Room) {
			return nil, perr(protocol.CodeNotInRoom, "join the room first")
		}
		return h.Handle(ctx, s, e)
	}
	return nil, perr(protocol.CodeUnknownType, "unknown message type")
}

// handlerFor returns the registered handler of the area of typ, if any.
func (g *Gateway) handlerFor(typ string) protocol.Handler {
	area, _, ok := strings.Cut(typ, ".")
	if !ok {
		return nil
	}
	g.hmu.RLock()
	defer g.hmu.RUnlock()
	return g.handlers[area+"."]
}

// reply queues the answer to request e: an ack with data, or an error. A
// request without an id gets no ack, but errors are always reported.
func (s *session) reply(e *protocol.Envelope, data any, pe *protocol.Error) {
	if pe != nil {
		metricErrors.WithLabelValues(codeLabel(pe.Code)).Inc()
		room := e.Room
		if validRoom(room) != nil {
			room = "" // never echo what is not a room name
		}
		s.sendFrame(&frameData{b: mustJSON(&protocol.Envelope{V: protocol.Version, Re: e.ID, Type: typeError, Room: room, Error: pe})})
		return
	}
	if e.ID == "" {
		return
	}
	s.sendFrame(&frameData{b: ackFrame(e, data)})
}

// ackFrame encodes the ack of request e.
func ackFrame(e *protocol.Envelope, data any) []byte {
	ack := &protocol.Envelope{V: protocol.Version, Re: e.ID, Type: typeAck, Room: e.Room}
	if data != nil {
		ack.Data = mustJSON(data)
	}
	return mustJSON(ack)
}

// handleLateResume rejects a resume that is not the first message.
func handleLateResume(context.Context, *conn, *session, *protocol.Envelope) (any, *protocol.Error) {
	return nil, perr(protocol.CodeMalformed, "resume must be the first message on a connection")
}

// namedTenant returns data.tenant of a request, if any.
func namedTenant(e *protocol.Envelope) string {
	if len(e.Data) == 0 || !bytes.Contains(e.Data, []byte(`"tenant"`)) {
		return ""
	}
	var d struct {
		Tenant string `json:"tenant"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Tenant
}

// checkTenant returns CodeWrongTenant when a request names a tenant other
// than the token's.
func checkTenant(s *session, named string) *protocol.Error {
	if named != "" && named != string(s.Tenant()) {
		return perr(protocol.CodeWrongTenant, "the room belongs to another tenant")
	}
	return nil
}
