package chat

import (
	"unicode"
	"unicode/utf8"

	"github.com/plenaryhq/plenary/internal/protocol"
)

// Request payloads (client → server). Each type's schema is
// docs/protocol/<type>.json; validate normalises the payload in place and
// checks what JSON decoding cannot. Field limits not set by Config are
// constants here.

// Limits of request fields that are not configurable.
const (
	maxReasonRunes   = 200
	maxSilenceSecs   = 30 * 24 * 3600
	maxSlowModeSecs  = 3600
	maxFilterWords   = 500
	maxFilterWordLen = 64
	maxPollQuestion  = 200
	maxPollOption    = 100
)

// tenantRef is embedded in every request payload: a request may name its
// tenant, as in signaling, and one naming another tenant than the token's
// is refused with CodeWrongTenant (checked in Service.handle).
type tenantRef struct {
	Tenant string `json:"tenant,omitempty"`
}

// namedTenant returns the tenant the payload names, "" for none.
func (r *tenantRef) namedTenant() string { return r.Tenant }

// validUser accepts a token subject: 1–256 bytes of valid UTF-8 without
// control characters.
func validUser(s string) bool {
	if s == "" || len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// sendReq is chat.send.
type sendReq struct {
	tenantRef
	Text    string `json:"text"`
	ReplyTo uint64 `json:"reply_to,omitempty"`
	Nonce   string `json:"nonce,omitempty"`
}

// validate normalises the text and checks the nonce.
func (p *sendReq) validate(c *Config) *protocol.Error {
	var err *protocol.Error
	if p.Text, err = cleanText("text", p.Text, c.MaxMessageRunes); err != nil {
		return err
	}
	if p.Nonce != "" && !validID(p.Nonce) {
		return clientErr(protocol.CodeInvalidPayload, "nonce: 1-%d printable ASCII characters", maxIDLen)
	}
	return nil
}

// editReq is chat.edit.
type editReq struct {
	tenantRef
	Message uint64 `json:"message"`
	Text    string `json:"text"`
}

// validate requires a message and normalises the text.
func (p *editReq) validate(c *Config) *protocol.Error {
	if p.Message == 0 {
		return clientErr(protocol.CodeInvalidPayload, "message: the sequence number of a chat message is required")
	}
	var err *protocol.Error
	p.Text, err = cleanText("text", p.Text, c.MaxMessageRunes)
	return err
}

// messageRef is chat.delete: a reference to one chat message.
type messageRef struct {
	tenantRef
	Message uint64 `json:"message"`
}

// validate requires a message.
func (p *messageRef) validate(*Config) *protocol.Error {
	if p.Message == 0 {
		return clientErr(protocol.CodeInvalidPayload, "message: the sequence number of a chat message is required")
	}
	return nil
}

// reactReq is chat.react.
type reactReq struct {
	tenantRef
	Message uint64 `json:"message"`
	Emoji   string `json:"emoji"`
	Remove  bool   `json:"remove,omitempty"`
}

// validate requires a message and one emoji.
func (p *reactReq) validate(*Config) *protocol.Error {
	if p.Message == 0 {
		return clientErr(protocol.CodeInvalidPayload, "message: the sequence number of a chat message is required")
	}
	if !validEmoji(p.Emoji) {
		return clientErr(protocol.CodeInvalidPayload, "emoji: 1-%d emoji characters", maxEmojiRunes)
	}
	return nil
}

// historyReq is chat.history.
type historyReq struct {
	tenantRef
	Before uint64 `json:"before,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

// validate caps the page size at Config.MaxPage (0 meaning the maximum).
func (p *historyReq) validate(c *Config) *protocol.Error {
	if p.Limit < 0 {
		return clientErr(protocol.CodeInvalidPayload, "limit must not be negative")
	}
	if p.Limit == 0 || p.Limit > c.MaxPage {
		p.Limit = c.MaxPage
	}
	return nil
}

// replayReq is chat.replay.
type replayReq struct {
	tenantRef
	Since uint64 `json:"since"`
}

// validate accepts any sequence; 0 means a first join.
func (*replayReq) validate(*Config) *protocol.Error { return nil }

// reportReq is chat.report.
type reportReq struct {
	tenantRef
	Message uint64 `json:"message"`
	Reason  string `json:"reason,omitempty"`
}

// validate requires a message and normalises the optional reason.
func (p *reportReq) validate(*Config) *protocol.Error {
	if p.Message == 0 {
		return clientErr(protocol.CodeInvalidPayload, "message: the sequence number of a chat message is required")
	}
	if p.Reason != "" {
		var err *protocol.Error
		if p.Reason, err = cleanText("reason", p.Reason, maxReasonRunes); err != nil {
			return err
		}
	}
	return nil
}

// emptyReq is a request without fields (chat.reports, poll.list).
type emptyReq struct {
	tenantRef
}

// validate accepts the payload (only tenant may be set).
func (*emptyReq) validate(*Config) *protocol.Error { return nil }

// Scopes of silences and bans.
const (
	scopeRoom       = "room"
	scopeConvention = "convention"
)

// restrictReq is chat.silence and chat.ban.
type restrictReq struct {
	tenantRef
	User    string `json:"user"`
	Scope   string `json:"scope,omitempty"`
	Seconds int    `json:"seconds,omitempty"`
	Lift    bool   `json:"lift,omitempty"`
}

// validate checks the user, defaults the scope to room and bounds the duration.
func (p *restrictReq) validate(*Config) *protocol.Error {
	if !validUser(p.User) {
		return clientErr(protocol.CodeInvalidPayload, "user: the subject of a participant is required")
	}
	switch p.Scope {
	case "":
		p.Scope = scopeRoom
	case scopeRoom, scopeConvention:
	default:
		return clientErr(protocol.CodeInvalidPayload, "scope: room or convention")
	}
	if p.Seconds < 0 || p.Seconds > maxSilenceSecs {
		return clientErr(protocol.CodeInvalidPayload, "seconds: 0 (until lifted) to %d", maxSilenceSecs)
	}
	return nil
}

// slowModeReq is chat.slowmode.
type slowModeReq struct {
	tenantRef
	Seconds int `json:"seconds"`
}

// validate bounds the interval.
func (p *slowModeReq) validate(*Config) *protocol.Error {
	if p.Seconds < 0 || p.Seconds > maxSlowModeSecs {
		return clientErr(protocol.CodeInvalidPayload, "seconds: 0 (off) to %d", maxSlowModeSecs)
	}
	return nil
}

// filterReq is chat.filter.
type filterReq struct {
	tenantRef
	Words []string `json:"words"`
}

// validate normalises the entries (lower case, single spaces), dropping blank ones.
func (p *filterReq) validate(*Config) *protocol.Error {
	if len(p.Words) > maxFilterWords {
		return clientErr(protocol.CodeInvalidPayload, "words: at most %d entries", maxFilterWords)
	}
	out := p.Words[:0]
	for _, w := range p.Words {
		w = normalizeFilterEntry(w)
		if w == "" {
			continue
		}
		if utf8.RuneCountInString(w) > maxFilterWordLen {
			return clientErr(protocol.CodeInvalidPayload, "words: entries of at most %d characters", maxFilterWordLen)
		}
		out = append(out, w)
	}
	p.Words = out
	return nil
}

// askReq is qa.ask.
type askReq struct {
	tenantRef
	Text string `json:"text"`
}

// validate normalises the question.
func (p *askReq) validate(c *Config) *protocol.Error {
	var err *protocol.Error
	p.Text, err = cleanText("text", p.Text, c.MaxQuestionRunes)
	return err
}

// idRef references a question or poll by ID (qa.upvote, qa.approve,
// qa.dismiss, poll.close).
type idRef struct {
	tenantRef
	ID string `json:"id"`
}

// validate requires an ID.
func (p *idRef) validate(*Config) *protocol.Error {
	if !validID(p.ID) {
		return clientErr(protocol.CodeInvalidPayload, "id: the ID of a question or poll is required")
	}
	return nil
}

// answerReq is qa.answer.
type answerReq struct {
	tenantRef
	ID     string `json:"id"`
	Answer string `json:"answer,omitempty"`
}

// validate requires an ID and normalises the optional answer.
func (p *answerReq) validate(c *Config) *protocol.Error {
	if !validID(p.ID) {
		return clientErr(protocol.CodeInvalidPayload, "id: the ID of a question is required")
	}
	if p.Answer != "" {
		var err *protocol.Error
		if p.Answer, err = cleanText("answer", p.Answer, c.MaxQuestionRunes); err != nil {
			return err
		}
	}
	return nil
}

// pinReq is qa.pin.
type pinReq struct {
	tenantRef
	ID     string `json:"id"`
	Pinned *bool  `json:"pinned,omitempty"`
}

// validate requires an ID; pinned defaults to true.
func (p *pinReq) validate(*Config) *protocol.Error {
	if !validID(p.ID) {
		return clientErr(protocol.CodeInvalidPayload, "id: the ID of a question is required")
	}
	if p.Pinned == nil {
		t := true
		p.Pinned = &t
	}
	return nil
}

// Question states.
const (
	statusPending   = "pending"
	statusApproved  = "approved"
	statusAnswered  = "answered"
	statusDismissed = "dismissed"
)

// qaListReq is qa.list.
type qaListReq struct {
	tenantRef
	Status string `json:"status,omitempty"`
}

// validate checks the status filter.
func (p *qaListReq) validate(*Config) *protocol.Error {
	switch p.Status {
	case "", statusPending, statusApproved, statusAnswered, statusDismissed:
		return nil
	}
	return clientErr(protocol.CodeInvalidPayload, "status: pending, approved, answered or dismissed")
}

// qaSettingsReq is qa.settings; absent fields are left unchanged.
type qaSettingsReq struct {
	tenantRef
	Premoderation *bool `json:"premoderation,omitempty"`
	Open          *bool `json:"open,omitempty"`
}

// validate accepts any combination; absent fields stay unchanged.
func (*qaSettingsReq) validate(*Config) *protocol.Error { return nil }

// pollCreateReq is poll.create.
type pollCreateReq struct {
	tenantRef
	Question string   `json:"question"`
	Options  []string `json:"options"`
}

// validate normalises the question and the 2–MaxPollOptions options.
func (p *pollCreateReq) validate(c *Config) *protocol.Error {
	var err *protocol.Error
	if p.Question, err = cleanText("question", p.Question, maxPollQuestion); err != nil {
		return err
	}
	if len(p.Options) < 2 || len(p.Options) > c.MaxPollOptions {
		return clientErr(protocol.CodeInvalidPayload, "options: 2 to %d", c.MaxPollOptions)
	}
	for i := range p.Options {
		if p.Options[i], err = cleanText("option", p.Options[i], maxPollOption); err != nil {
			return err
		}
	}
	return nil
}

// voteReq is poll.vote.
type voteReq struct {
	tenantRef
	ID     string `json:"id"`
	Option *int   `json:"option"`
}

// validate requires an ID and an option index (checked against the poll later).
func (p *voteReq) validate(c *Config) *protocol.Error {
	if !validID(p.ID) {
		return clientErr(protocol.CodeInvalidPayload, "id: the ID of a poll is required")
	}
	if p.Option == nil || *p.Option < 0 || *p.Option >= c.MaxPollOptions {
		return clientErr(protocol.CodeInvalidPayload, "option: the index of one of the poll's options is required")
	}
	return nil
}

// announceReq is announce.send.
type announceReq struct {
	tenantRef
	Text string `json:"text"`
}

// validate normalises the text.
func (p *announceReq) validate(c *Config) *protocol.Error {
	var err *protocol.Error
	p.Text, err = cleanText("text", p.Text, c.MaxMessageRunes)
	return err
}
