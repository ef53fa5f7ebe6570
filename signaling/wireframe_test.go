package signaling

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestWireFrameReadByGorilla writes frames of every header length class
// with one writev, as conn.writeFrames does, and reads them back with
// gorilla/websocket's client: each arrives whole, as text, in order.
func TestWireFrameReadByGorilla(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 4096, 65535, 65536, 200000}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		var bufs net.Buffers
		for _, n := range sizes {
			bufs = append(bufs, wireFrame(bytes.Repeat([]byte{'a' + byte(n%26)}, n)))
		}
		if _, err := bufs.WriteTo(ws.NetConn()); err != nil {
			t.Error(err)
		}
		_, _, _ = ws.ReadMessage() // wait for the client to finish
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, n := range sizes {
		typ, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("frame of %d bytes: %v", n, err)
		}
		if typ != websocket.TextMessage || len(b) != n || (n > 0 && (b[0] != 'a'+byte(n%26) || b[n-1] != b[0])) {
			t.Fatalf("frame of %d bytes: got type %d, %d bytes", n, typ, len(b))
		}
	}
}

// TestDropReplayed: room events held back during a join are dropped when
// the join's replay already carried their sequence number; unsequenced
// events and later ones stay, in order.
func TestDropReplayed(t *testing.T) {
	ev := func(seq int) frame {
		b := []byte(`{"v":1,"type":"chat.message","room":"main","data":{"text":"\"seq\":1"}}`)
		if seq > 0 {
			b = []byte(`{"v":1,"type":"chat.message","room":"main","seq":` + strconv.Itoa(seq) + `,"data":{"seq":999}}`)
		}
		return &frameData{wire: wireFrame(b)}
	}
	long := &frameData{wire: wireFrame([]byte(`{"v":1,"type":"chat.message","room":"main","seq":7,"data":{"text":"` + strings.Repeat("x", 70000) + `"}}`))}
	pending := []frame{ev(4), ev(0), ev(5), long, ev(6), ev(8)}
	m := &member{replayedTo: 6}
	got := m.dropReplayed(pending)
	var seqs []uint64
	for _, f := range got {
		seqs = append(seqs, frameSeq(f))
	}
	if want := []uint64{0, 7, 8}; !slices.Equal(seqs, want) {
		t.Fatalf("kept seqs %v, want %v", seqs, want)
	}
	if n := frameSeq(&frameData{wire: wireFrame(bytes.Repeat([]byte("a"), 300))}); n != 0 {
		t.Fatalf("frame without seq: %d", n)
	}
	if m.replayedTo != 0 {
		t.Fatal("a later event passed: the check must end")
	}
	if len(m.dropReplayed(pending[:2])) != 2 {
		t.Fatal("nothing replayed: everything must stay")
	}
}
