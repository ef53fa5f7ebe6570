package protocoltest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/signaling/client"
	"github.com/plenaryhq/plenary/signaling/protocoltest"
)

// TestEverySchemaCompiles compiles every definition of every file in
// docs/protocol and checks each file defines at least one direction.
func TestEverySchemaCompiles(t *testing.T) {
	v := protocoltest.Default(t)
	paths, err := filepath.Glob("../../docs/protocol/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			var doc struct {
				Defs map[string]json.RawMessage `json:"$defs"`
			}
			require.NoError(t, json.Unmarshal(b, &doc))
			if name == "envelope" {
				return // shared definitions only
			}
			var dirs int
			for def := range doc.Defs {
				if def == "request" || def == "reply" || def == "event" {
					dirs++
					require.NoError(t, v.Compile(name, def))
				}
			}
			require.NotZero(t, dirs, "no $defs/request, reply or event")
		})
	}
}

func TestStreamCatchesViolations(t *testing.T) {
	tests := []struct {
		name  string
		dir   client.Direction
		frame string
		ok    bool
	}{
		{"valid join", client.Sent, `{"v":1,"id":"1","type":"join","room":"main","data":{"media":false}}`, true},
		{"join without room", client.Sent, `{"v":1,"id":"2","type":"join","data":{}}`, false},
		{"unknown field in data", client.Sent, `{"v":1,"id":"3","type":"join","room":"main","data":{"x":1}}`, false},
		{"type without schema", client.Sent, `{"v":1,"type":"nope.nothing"}`, false},
		{"error frame", client.Received, `{"v":1,"re":"2","type":"error","error":{"code":4003,"message":"m","retryable":false}}`, true},
		{"ack matches its request", client.Received, `{"v":1,"re":"1","type":"ack","room":"main","data":{"room":"main"}}`, false},
		{"ack of unknown request", client.Received, `{"v":1,"re":"zz","type":"ack"}`, false},
		{"event", client.Received, `{"v":1,"type":"room.state","room":"main","data":{"locked":true}}`, true},
		{"bad event", client.Received, `{"v":1,"type":"room.state","room":"main","data":{}}`, false},
	}
	s := protocoltest.Default(t).Stream()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Check(tc.dir, []byte(tc.frame))
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
