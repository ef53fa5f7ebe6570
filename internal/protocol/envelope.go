// Package protocol is the versioned JSON envelope carried by the one
// WebSocket per browser tab (signaling and chat share it). Every message type
// has a JSON Schema under docs/protocol/ and docs/protocol.md walks through
// the flows; the schema is written before the handler.
//
// Client → server:
//
//	{"v":1,"id":"c17","type":"chat.send","room":"main-stage","data":{...}}
//
// Server → client reply to a request (same id):
//
//	{"v":1,"re":"c17","type":"ack","data":{...}}
//	{"v":1,"re":"c17","type":"error","error":{"code":4403,"message":"...","retryable":false}}
//
// Server → client event (no id; room events carry the room's sequence):
//
//	{"v":1,"type":"chat.message","room":"main-stage","seq":42,"data":{...}}
package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Version is the envelope version this server speaks.
const Version = 1

// MaxFrame is the largest WebSocket frame a client may send, in bytes.
const MaxFrame = 64 << 10

// Envelope is one message on the WebSocket, in either direction.
type Envelope struct {
	// V is the envelope version; always Version.
	V int `json:"v"`
	// ID is set by the client on a request; the reply carries it in Re.
	ID string `json:"id,omitempty"`
	// Re is the ID of the request a reply answers.
	Re string `json:"re,omitempty"`
	// Type names the message, "<area>.<verb>" (join, chat.send, qa.ask, …).
	Type string `json:"type"`
	// Room the message concerns, if any.
	Room string `json:"room,omitempty"`
	// Seq is the room's sequence number of an event (chat, Q&A, polls,
	// presence), for gap-free resume; 0 when the event is not sequenced.
	Seq uint64 `json:"seq,omitempty"`
	// Data is the type-specific payload, described by docs/protocol/<type>.json.
	Data json.RawMessage `json:"data,omitempty"`
	// Error is set on type "error".
	Error *Error `json:"error,omitempty"`
}

// Error is the one error value sent to clients: a stable numeric code, a
// human-readable message and whether retrying the same request may succeed
// (centrifuge's Error{Code, Message, Temporary}).
type Error struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	Retryable bool   `json:"retryable"`
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%d: %s", e.Code, e.Message) }

// Decode parses one client frame. It rejects oversize frames, unknown
// envelope fields, a wrong version and a missing type, each with a protocol
// Error whose code the client can act on.
func Decode(b []byte) (*Envelope, *Error) {
	if len(b) > MaxFrame {
		return nil, &Error{Code: CodeFrameTooLarge, Message: fmt.Sprintf("frame of %d bytes exceeds %d", len(b), MaxFrame)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Envelope
	if err := dec.Decode(&e); err != nil {
		return nil, &Error{Code: CodeMalformed, Message: "malformed envelope: " + err.Error()}
	}
	if dec.More() {
		return nil, &Error{Code: CodeMalformed, Message: "malformed envelope: trailing data after the JSON object"}
	}
	if e.V != Version {
		return nil, &Error{Code: CodeUnsupportedVersion, Message: fmt.Sprintf("envelope version %d not supported, use %d", e.V, Version)}
	}
	if e.Type == "" {
		return nil, &Error{Code: CodeMalformed, Message: "envelope without type"}
	}
	if len(e.ID) > 64 {
		return nil, &Error{Code: CodeMalformed, Message: "id longer than 64 characters"}
	}
	return &e, nil
}

// DecodeData unmarshals e.Data into v strictly (unknown fields rejected).
func DecodeData(e *Envelope, v any) *Error {
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &Error{Code: CodeInvalidPayload, Message: fmt.Sprintf("invalid %s payload: %v", e.Type, err)}
	}
	return nil
}
