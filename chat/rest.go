package chat

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// HistoryRoute is the pattern to mount HistoryHandler at.
const HistoryRoute = "GET /v1/rooms/{room}/messages"

// HistoryHandler serves GET /v1/rooms/{room}/messages?before=SEQ&limit=N:
// one page of a room's chat messages and announcements, oldest first, with
// "more" set when older ones exist (ask again with before = the first
// event's seq). It must be wrapped by auth.Middleware: the tenant is the
// token's, so a token of one tenant can only ever read its own tenant's
// rooms, and the token must grant the room. Body as chat.history's reply;
// errors as {"error":{"code","message","retryable"}} with the protocol
// codes (403 for a room not granted or a banned user, 400 for bad
// parameters, 503 retryable when the archive is down).
func (s *Service) HistoryHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := auth.ClaimsFrom(r.Context())
		if !ok {
			auth.WriteError(w, auth.ErrMissingToken)
			return
		}
		room := r.PathValue("room")
		if room == "" {
			room = roomFromPath(r.URL.Path)
		}
		if err := validRoom(room); err != nil {
			writeProtoError(w, http.StatusBadRequest, clientErr(protocol.CodeInvalidPayload, "room: %v", err))
			return
		}
		if err := c.CheckRoom(room); err != nil {
			auth.WriteError(w, err)
			return
		}
		q := r.URL.Query()
		before, err1 := parseUint(q.Get("before"))
		limit, err2 := parseUint(q.Get("limit"))
		if err1 != nil || err2 != nil {
			writeProtoError(w, http.StatusBadRequest, clientErr(protocol.CodeInvalidPayload, "before and limit must be non-negative integers"))
			return
		}
		if limit == 0 || limit > uint64(s.cfg.MaxPage) {
			limit = uint64(s.cfg.MaxPage)
		}
		page, perr := s.page(r.Context(), RoomKey{Tenant: c.Tenant, Room: room}, c.Subject, before, int(limit))
		if perr != nil {
			status := http.StatusInternalServerError
			switch {
			case perr.Code == protocol.CodeBanned:
				status = http.StatusForbidden
			case perr.Retryable:
				status = http.StatusServiceUnavailable
				w.Header().Set("Retry-After", "1")
			}
			writeProtoError(w, status, perr)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_ = json.NewEncoder(w).Encode(page)
	})
}

// roomFromPath extracts {room} from /v1/rooms/{room}/messages for routers
// without path values.
func roomFromPath(p string) string {
	rest, ok := strings.CutPrefix(p, "/v1/rooms/")
	if !ok {
		return ""
	}
	room, tail, _ := strings.Cut(rest, "/")
	if tail != "messages" {
		return ""
	}
	return room
}

// parseUint parses an optional non-negative integer ("" is 0).
func parseUint(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// writeProtoError writes {"error": e} with status.
func writeProtoError(w http.ResponseWriter, status int, e *protocol.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error *protocol.Error `json:"error"`
	}{e})
}
