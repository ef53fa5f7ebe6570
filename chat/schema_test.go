package chat_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/require"

	"github.com/plenaryhq/plenary/chat"
	"github.com/plenaryhq/plenary/internal/protocol"
)

// schemaSet is the compiled docs/protocol schemas. Every request the tests
// send successfully, every ack and error they get and every event the
// service publishes or replays is validated against its type's schema
// ($defs/request, $defs/reply, error.json, $defs/event).
type schemaSet struct {
	base  string
	files map[string]bool
	c     *jsonschema.Compiler

	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
}

var (
	schemasOnce sync.Once
	schemas     *schemaSet
	schemasErr  error
)

// loadSchemas compiles docs/protocol once per test binary.
func loadSchemas(t testing.TB) *schemaSet {
	t.Helper()
	schemasOnce.Do(func() {
		dir, err := filepath.Abs(filepath.Join("..", "docs", "protocol"))
		if err != nil {
			schemasErr = err
			return
		}
		paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/"}
		s := &schemaSet{base: u.String(), files: map[string]bool{}, c: jsonschema.NewCompiler(), cache: map[string]*jsonschema.Schema{}}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				schemasErr = err
				return
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				schemasErr = fmt.Errorf("%s: %w", p, err)
				return
			}
			name := strings.TrimSuffix(filepath.Base(p), ".json")
			if err := s.c.AddResource(s.base+name+".json", doc); err != nil {
				schemasErr = fmt.Errorf("%s: %w", p, err)
				return
			}
			s.files[name] = true
		}
		schemas = s
	})
	require.NoError(t, schemasErr)
	return schemas
}

// check validates the JSON of v against typ.json#/$defs/def.
func (s *schemaSet) check(typ, def string, v any) error {
	key := typ + "#" + def
	s.mu.Lock()
	sch, ok := s.cache[key]
	if !ok {
		if !s.files[typ] {
			s.mu.Unlock()
			return fmt.Errorf("no schema docs/protocol/%s.json", typ)
		}
		var err error
		sch, err = s.c.Compile(s.base + typ + ".json#/$defs/" + def)
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("compile %s: %w", key, err)
		}
		s.cache[key] = sch
	}
	s.mu.Unlock()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("%s: %w\n%s", key, err, b)
	}
	return nil
}

// TestSchemasCoverEveryType: each type Handle serves has a request and a
// reply schema, and the files compile.
func TestSchemasCoverEveryType(t *testing.T) {
	s := loadSchemas(t)
	for _, typ := range chat.Types() {
		for _, def := range []string{"request", "reply"} {
			_, err := s.c.Compile(s.base + typ + ".json#/$defs/" + def)
			require.NoError(t, err, "%s#%s", typ, def)
		}
	}
	for _, typ := range []string{"chat.message", "chat.edited", "chat.deleted", "chat.reaction", "chat.moderation", "chat.sync",
		"qa.question", "qa.queue", "qa.settings", "poll.created", "poll.results", "poll.closed", "announce.message"} {
		_, err := s.c.Compile(s.base + typ + ".json#/$defs/event")
		require.NoError(t, err, "%s#event", typ)
	}
}

// validateExchange validates a request that was answered by reply or perr.
func validateExchange(t testing.TB, req *protocol.Envelope, reply any, perr *protocol.Error) {
	t.Helper()
	s := loadSchemas(t)
	if perr != nil {
		room := req.Room
		if (chat.RoomKey{Tenant: "x", Room: room}).Validate() != nil {
			room = "" // the gateway never echoes what is not a room name
		}
		require.NoError(t, s.check("error", "event", &protocol.Envelope{V: 1, Re: req.ID, Type: "error", Room: room, Error: perr}))
		return
	}
	require.NoError(t, s.check(req.Type, "request", req))
	ack := &protocol.Envelope{V: 1, Re: req.ID, Type: "ack", Room: req.Room}
	if reply != nil {
		b, err := json.Marshal(reply)
		require.NoError(t, err)
		ack.Data = b
	}
	require.NoError(t, s.check(req.Type, "reply", ack))
}

// validateEvent validates a published or replayed event.
func validateEvent(t testing.TB, e *protocol.Envelope) {
	t.Helper()
	if err := loadSchemas(t).check(e.Type, "event", e); err != nil {
		t.Errorf("event violates its schema: %v", err)
	}
}
