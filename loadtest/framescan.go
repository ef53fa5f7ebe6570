package loadtest

import (
	"bytes"
	"strconv"
)

// frame is what a chat bot needs from one server frame, found by scanning
// the bytes instead of decoding JSON: every bot sees every room event, so
// in a 20,000-bot room this runs 20,000 times per message and a full
// decode per bot would double the tester's CPU (the signaling client
// already decodes each frame once for its own use).
//
// The scan relies on the envelope's layout as the server writes it
// (encoding/json, fields in struct order: v, id, re, type, room, seq, data,
// error), and only reads fields before "data" from the envelope.
type frame struct {
	typ  []byte // envelope type
	re   []byte // id of the request a reply answers
	seq  uint64 // room sequence number (0 if none)
	sent int64  // send time (Unix ns) from a chat text marker, 0 if none
	code int    // error code of an error frame
}

// Markers searched for in frames.
var (
	keyType  = []byte(`"type":"`)
	keyRe    = []byte(`"re":"`)
	keySeq   = []byte(`"seq":`)
	keyData  = []byte(`"data":`)
	keyText  = []byte(`"text":"`)
	keyCode  = []byte(`"code":`)
	typeErr  = []byte("error")
	typeMsg  = []byte("chat.message")
	typeAck  = []byte("ack")
	typeSync = []byte("chat.sync")
)

// textMarker starts the text of every bot chat message; the send time in
// Unix nanoseconds follows it.
const textMarker = "lt "

// scanFrame extracts the fields of f from b. It never fails: fields it
// cannot find stay zero.
func scanFrame(b []byte) (f frame) {
	head := b
	if i := bytes.Index(b, keyData); i >= 0 {
		head = b[:i]
	}
	f.typ = stringAfter(head, keyType)
	f.re = stringAfter(head, keyRe)
	if i := bytes.Index(head, keySeq); i >= 0 {
		f.seq, _ = digits(head[i+len(keySeq):])
	}
	switch {
	case bytes.Equal(f.typ, typeMsg):
		if t := stringAfter(b, keyText); bytes.HasPrefix(t, []byte(textMarker)) {
			if ns, ok := digits(t[len(textMarker):]); ok {
				f.sent = int64(ns)
			}
		}
	case bytes.Equal(f.typ, typeErr):
		if i := bytes.Index(b, keyCode); i >= 0 {
			c, _ := digits(b[i+len(keyCode):])
			f.code = int(min(c, 1<<20))
		}
	}
	return f
}

// stringAfter returns the JSON string value following key (up to the next
// quote; the values scanned never contain escapes), or nil.
func stringAfter(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	rest := b[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// digits parses the decimal number at the start of b (at most 19 digits).
func digits(b []byte) (uint64, bool) {
	n := 0
	for n < len(b) && n < 19 && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[:n]), 10, 64)
	return v, err == nil
}

// requestID builds the id of a fire-and-forget request: a kind letter and
// the send time, so the reply alone says what it answers and how long it
// took, without per-bot bookkeeping.
func requestID(kind byte, sentNS int64) string {
	return string(kind) + strconv.FormatInt(sentNS, 36)
}

// parseRequestID splits an id made by requestID.
func parseRequestID(id []byte) (kind byte, sentNS int64, ok bool) {
	if len(id) < 2 {
		return 0, 0, false
	}
	v, err := strconv.ParseInt(string(id[1:]), 36, 64)
	if err != nil {
		return 0, 0, false
	}
	return id[0], v, true
}
