package signaling_test

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/plenaryhq/plenary/internal/auth"
	"github.com/plenaryhq/plenary/internal/protocol"
	"github.com/plenaryhq/plenary/signaling"
	"github.com/plenaryhq/plenary/signaling/client"
)

// FuzzDecode feeds arbitrary frames to protocol.Decode and to a live
// gateway's dispatch (over a real WebSocket, with media and a joined room):
// nothing may panic, Decode's errors carry protocol codes, and after every
// frame the connection still answers a ping.
//
//	go test -run '^$' -fuzz FuzzDecode -fuzztime 60s ./signaling/
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"v":1,"id":"1","type":"join","room":"main","data":{"media":true}}`,
		`{"v":1,"id":"2","type":"leave","room":"main"}`,
		`{"v":1,"id":"3","type":"ping","data":{"received":3}}`,
		`{"v":1,"id":"4","type":"resume","data":{"token":"p_x.y","received":0}}`,
		`{"v":1,"id":"5","type":"media.offer","room":"main","data":{"type":"offer","sdp":"v=0\r\n"}}`,
		`{"v":1,"id":"6","type":"media.ice","room":"main","data":{"target":"subscriber","candidate":{"candidate":""}}}`,
		`{"v":1,"id":"7","type":"media.prefs","room":"main","data":{"track":"a/b","max_layer":"low","width":-1}}`,
		`{"v":1,"id":"8","type":"mod.ban","room":"main","data":{"tenant":"beta","participant":"p_1"}}`,
		`{"v":1,"id":"9","type":"mod.lock","room":"main","data":{"locked":true}}`,
		`{"v":1,"id":"10","type":"hand.lower","room":"main","data":{"participant":""}}`,
		`{"v":1,"type":"chat.send","room":"main","data":{}}`,
		`{"v":2,"type":"ping"}`, `{"v":1}`, `{}`, `[]`, `null`, `{"v":1,"type":"ping"}{}`,
		`{"v":1,"type":"ping","data":[1]}`, `{"v":1,"id":"` + string(make([]byte, 70)) + `","type":"x"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	e := newEnv(f)
	s := e.Start(f, signaling.Config{RateLimit: 1e9, RateBurst: 1 << 20, JoinTimeout: time.Hour}, newFakeMedia())
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := client.Dial(ctx, s.URL, e.Token(f, tenantA, "fuzz", auth.RoleModerator), client.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	go func() {
		for {
			select {
			case <-c.Events():
			case <-c.Down():
				return
			}
		}
	}()
	if _, err := c.Join(ctx, "main", client.JoinOptions{}); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, frame []byte) {
		env, pe := protocol.Decode(frame)
		switch {
		case pe != nil && (pe.Code < 4000 || pe.Code > 4099):
			t.Fatalf("Decode error code %d outside the protocol range", pe.Code)
		case pe == nil && (env.V != protocol.Version || env.Type == ""):
			t.Fatalf("Decode accepted %q", frame)
		}
		if err := c.WriteRaw(websocket.TextMessage, frame); err != nil {
			t.Fatalf("write: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		if _, err := c.Request(ctx, "ping", "", nil); err != nil {
			code, reason := c.CloseCode()
			t.Fatalf("connection unhealthy after %q: %v (close %d %s)", frame, err, code, reason)
		}
	})
}
