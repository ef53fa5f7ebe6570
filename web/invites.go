package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/plenaryhq/plenary/internal/auth"
)

// Minter issues tokens; *auth.Issuer implements it.
type Minter interface {
	Mint(ctx context.Context, req auth.MintRequest) (string, error)
}

var _ Minter = (*auth.Issuer)(nil)

// Invitation limits.
const (
	defaultInviteTTL = 72 * time.Hour
	maxInviteTTL     = 30 * 24 * time.Hour
	maxInviteRooms   = 16
	maxNameLen       = 100
)

// inviteRequest is the body of POST /v1/invites.
type inviteRequest struct {
	// Name is shown to others in the room.
	Name string `json:"name"`
	// Role is attendee, speaker or moderator (organizers are made with the
	// CLI, not by links).
	Role string `json:"role"`
	// Rooms granted; empty grants every room of the tenant.
	Rooms []string `json:"rooms"`
	// TTLHours is the link's lifetime, 1–720; 0 means 72.
	TTLHours int `json:"ttl_hours"`
	// Path is the app page the link opens; it must lie under
	// /t/{tenant}/. Empty: the tenant's start page.
	Path string `json:"path"`
}

// inviteResponse is the answer of POST /v1/invites.
type inviteResponse struct {
	URL       string   `json:"url"`
	Token     string   `json:"token"`
	Subject   string   `json:"subject"`
	Role      string   `json:"role"`
	Rooms     []string `json:"rooms"`
	ExpiresAt string   `json:"expires_at"`
}

// invites serves POST /v1/invites.
type invites struct {
	minter Minter
	base   string
	log    *slog.Logger
}

// ServeHTTP mints a token for the invitee and answers the link.
func (h *invites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, ok := auth.ClaimsFrom(r.Context())
	if !ok {
		auth.WriteError(w, auth.ErrMissingToken)
		return
	}
	var req inviteRequest
	if err := readJSON(r, &req); err != nil {
		writeErr(w, err)
		return
	}
	mint, path, err := req.validate(c)
	if err != nil {
		writeErr(w, err)
		return
	}
	tok, err := h.minter.Mint(r.Context(), mint)
	if err != nil {
		h.log.Warn("invite: mint failed", "tenant", c.Tenant, "err", err)
		writeErr(w, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	link := h.origin(r) + path
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	link += sep + "token=" + url.QueryEscape(tok)
	h.log.Info("invite issued", "tenant", c.Tenant, "by", c.Subject, "subject", mint.Subject, "role", mint.Role)
	rooms := mint.Rooms
	if rooms == nil {
		rooms = []string{}
	}
	writeJSON(w, http.StatusCreated, inviteResponse{
		URL: link, Token: tok, Subject: mint.Subject, Role: mint.Role.String(), Rooms: rooms,
		ExpiresAt: time.Now().Add(mint.TTL).UTC().Format(time.RFC3339),
	})
}

// origin is the configured public origin, else the request's.
func (h *invites) origin(r *http.Request) string {
	if h.base != "" {
		return h.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// validate checks the request against the organizer's claims and builds
// the mint request and the page path.
func (req inviteRequest) validate(c *auth.Claims) (auth.MintRequest, string, error) {
	var zero auth.MintRequest
	role, err := auth.ParseRole(req.Role)
	if err != nil || !role.Valid() || role.AtLeast(auth.RoleOrganizer) {
		return zero, "", fmt.Errorf("%w: role must be attendee, speaker or moderator", ErrInvalidRequest)
	}
	name := strings.TrimSpace(req.Name)
	if len([]rune(name)) > maxNameLen {
		return zero, "", fmt.Errorf("%w: name longer than %d characters", ErrInvalidRequest, maxNameLen)
	}
	if len(req.Rooms) > maxInviteRooms {
		return zero, "", fmt.Errorf("%w: at most %d rooms", ErrInvalidRequest, maxInviteRooms)
	}
	for _, room := range req.Rooms {
		if !validName(room) {
			return zero, "", fmt.Errorf("%w: room %q", ErrInvalidRequest, room)
		}
	}
	ttl := defaultInviteTTL
	if req.TTLHours != 0 {
		ttl = time.Duration(req.TTLHours) * time.Hour
		if req.TTLHours < 0 || ttl > maxInviteTTL {
			return zero, "", fmt.Errorf("%w: ttl_hours must be 1-%d", ErrInvalidRequest, int(maxInviteTTL/time.Hour))
		}
	}
	prefix := "/t/" + c.Tenant.String() + "/"
	path := req.Path
	if path == "" {
		path = prefix
	}
	if !strings.HasPrefix(path, prefix) || strings.Contains(path, "//") || strings.Contains(path, "..") ||
		strings.ContainsAny(path, "#\\\r\n") || strings.Contains(path, "token=") {
		return zero, "", fmt.Errorf("%w: path must be an app page under %s", ErrInvalidRequest, prefix)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	return auth.MintRequest{
		Tenant: c.Tenant, Subject: "invite-" + hex.EncodeToString(id[:]), Name: name,
		Role: role, Rooms: req.Rooms, TTL: ttl,
	}, path, nil
}
