package chat

// Event payloads (server → client). Each type's schema is
// docs/protocol/<type>.json. Timestamps are Unix milliseconds.

// Event types the service appends to room history.
const (
	typeMessage      = "chat.message"
	typeEdited       = "chat.edited"
	typeDeleted      = "chat.deleted"
	typeReaction     = "chat.reaction"
	typeModeration   = "chat.moderation"
	typeSync         = "chat.sync"
	typeQuestion     = "qa.question"
	typeQueue        = "qa.queue"
	typeQASettings   = "qa.settings"
	typePollCreated  = "poll.created"
	typePollResults  = "poll.results"
	typePollClosed   = "poll.closed"
	typeAnnouncement = "announce.message"
)

// pageTypes are the event types chat.history and the REST endpoint page
// through: what a chat pane shows.
var pageTypes = []string{typeMessage, typeAnnouncement}

// chatMessage is chat.message. In the archive it is rewritten on edit
// (Edited) and delete (Deleted, Text emptied), so pages show current state.
type chatMessage struct {
	User    string `json:"user"`
	Name    string `json:"name,omitempty"`
	Role    string `json:"role"`
	Text    string `json:"text"`
	ReplyTo uint64 `json:"reply_to,omitempty"`
	Nonce   string `json:"nonce,omitempty"`
	TS      int64  `json:"ts"`
	Edited  bool   `json:"edited,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	// Reactions are emoji counts, filled in pages only (live clients
	// follow chat.reaction events).
	Reactions map[string]int64 `json:"reactions,omitempty"`
}

// chatEdited is chat.edited.
type chatEdited struct {
	Message uint64 `json:"message"`
	Text    string `json:"text"`
	By      string `json:"by"`
	TS      int64  `json:"ts"`
}

// chatDeleted is chat.deleted.
type chatDeleted struct {
	Message uint64 `json:"message"`
	By      string `json:"by"`
	TS      int64  `json:"ts"`
}

// chatReaction is chat.reaction: the current count of one emoji on one
// message.
type chatReaction struct {
	Message uint64 `json:"message"`
	Emoji   string `json:"emoji"`
	Count   int64  `json:"count"`
}

// chatModeration is chat.moderation.
type chatModeration struct {
	Action  string `json:"action"`
	User    string `json:"user,omitempty"`
	Scope   string `json:"scope,omitempty"`
	Until   int64  `json:"until,omitempty"`
	Seconds int    `json:"seconds,omitempty"`
	By      string `json:"by"`
}

// syncData is chat.sync, the last envelope of every replay.
type syncData struct {
	// Head is the room's last sequence number at replay time.
	Head uint64 `json:"head"`
	// From is the sequence the replay started after.
	From uint64 `json:"from"`
	// Complete is false when events between the client's last sequence and
	// From were not replayed (the gap exceeded MaxReplay, or a first join);
	// page them with chat.history.
	Complete bool `json:"complete"`
	// Retry is set when history could not be read (a backend outage): ask
	// again with chat.replay after a moment.
	Retry bool `json:"retry,omitempty"`
}

// questionView is qa.question and one entry of the qa.list reply.
type questionView struct {
	ID     string `json:"id"`
	User   string `json:"user"`
	Name   string `json:"name,omitempty"`
	Text   string `json:"text"`
	Status string `json:"status"`
	Pinned bool   `json:"pinned"`
	Votes  int64  `json:"votes"`
	Answer string `json:"answer,omitempty"`
	TS     int64  `json:"ts"`
}

// qaQueue is qa.queue: a hint to moderators that pending questions wait.
type qaQueue struct {
	Pending int64 `json:"pending"`
}

// qaSettings is qa.settings (event and reply).
type qaSettings struct {
	Premoderation bool `json:"premoderation"`
	Open          bool `json:"open"`
}

// pollView is poll.created and one entry of the poll.list reply.
type pollView struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Options  []string `json:"options"`
	Counts   []int64  `json:"counts"`
	Total    int64    `json:"total"`
	Closed   bool     `json:"closed"`
	User     string   `json:"user"`
	TS       int64    `json:"ts"`
}

// pollResults is poll.results and poll.closed.
type pollResults struct {
	ID     string  `json:"id"`
	Counts []int64 `json:"counts"`
	Total  int64   `json:"total"`
	Closed bool    `json:"closed"`
}

// announcement is announce.message.
type announcement struct {
	Text  string `json:"text"`
	User  string `json:"user"`
	Name  string `json:"name,omitempty"`
	Scope string `json:"scope"`
	TS    int64  `json:"ts"`
}

// seqAck is the ack of requests that appended an event.
type seqAck struct {
	Seq uint64 `json:"seq"`
}
