package protocol

// Error codes sent in Error.Code. They are stable: clients switch on them.
// 4000–4099 protocol, 4100–4199 auth and permission, 4200–4299 rooms and
// media, 4300–4399 chat, Q&A and polls, 4400–4499 limits, 4500–4599 server.
// docs/protocol.md lists them with what a client should do.
const (
	CodeMalformed          = 4000 // not a valid envelope
	CodeUnsupportedVersion = 4001 // envelope version not spoken
	CodeUnknownType        = 4002 // no such message type
	CodeInvalidPayload     = 4003 // payload does not match the type's schema
	CodeFrameTooLarge      = 4004 // frame over MaxFrame

	CodeUnauthorized = 4100 // token missing, invalid or expired
	CodeWrongTenant  = 4101 // the room belongs to another tenant
	CodeForbidden    = 4103 // the role does not allow this command
	CodeNotInRoom    = 4104 // command for a room the connection has not joined
	CodeBanned       = 4105 // removed or banned from the room
	CodeRoomLocked   = 4106 // the room is locked by a moderator

	CodeRoomNotFound  = 4200 // no such room
	CodeInvalidSDP    = 4201 // SDP offer/answer could not be applied
	CodeTrackNotFound = 4202 // no such track
	CodeResumeExpired = 4203 // resume token unknown or past its grace period
	CodeMediaFailed   = 4204 // media negotiation failed on the server
	CodeReplaced      = 4205 // the session was resumed on another connection
	CodeNoParticipant = 4206 // no such participant in the room

	CodeMessageTooLong = 4300 // chat text over the limit
	CodeSlowMode       = 4301 // slow mode: wait before sending again
	CodeSilenced       = 4302 // the user is silenced
	CodeFiltered       = 4303 // the word filter rejected the text
	CodeAlreadyVoted   = 4304 // vote-once rule
	CodeNotFound       = 4305 // message, question or poll not found
	CodeClosed         = 4306 // Q&A or poll closed

	CodeRateLimited  = 4400 // too many messages; retry later
	CodeSlowConsumer = 4401 // the connection could not keep up and was closed
	CodeTimeout      = 4402 // no join or resume within the join timeout

	CodeInternal    = 4500 // unexpected server error
	CodeUnavailable = 4501 // a backend (Redis, store) is down; retry
	CodeDraining    = 4502 // the server is draining; reconnect elsewhere
)
