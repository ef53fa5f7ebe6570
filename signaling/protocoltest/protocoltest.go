// Package protocoltest validates protocol messages against the JSON Schemas
// in docs/protocol/, one file per message type. Tests plug it into the
// signaling client (Options) so that every frame sent or received in the
// test suite is checked against its schema:
//
//   - a frame sent is a request: <type>.json#/$defs/request;
//   - a frame received is an ack (<request type>.json#/$defs/reply, or
//     ack.json when the request's area has no reply schema), an error
//     (error.json#/$defs/event) or an event (<type>.json#/$defs/event).
//
// A type without a schema file is a violation: the contract comes first.
package protocoltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/plenaryhq/plenary/signaling/client"
)

// Validator holds the compiled schemas of one docs/protocol directory.
type Validator struct {
	dir   string
	base  string // file URL of dir, ending in "/"
	files map[string]bool
	c     *jsonschema.Compiler

	mu    sync.Mutex
	cache map[string]*jsonschema.Schema
	seen  map[string]int // "<type>#<def>" → frames validated
}

// Load reads every *.json file of dir.
func Load(dir string) (*Validator, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	paths, err := filepath.Glob(filepath.Join(abs, "*.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("protocoltest: no schemas in %s: %v", abs, err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs) + "/"}
	v := &Validator{dir: abs, base: u.String(), files: map[string]bool{}, c: jsonschema.NewCompiler(),
		cache: map[string]*jsonschema.Schema{}, seen: map[string]int{}}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("protocoltest: %s: %w", p, err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if err := v.c.AddResource(v.base+name+".json", doc); err != nil {
			return nil, fmt.Errorf("protocoltest: %s: %w", p, err)
		}
		v.files[name] = true
	}
	return v, nil
}

var (
	defaultOnce sync.Once
	defaultV    *Validator
	defaultErr  error
)

// Default returns the validator of the repository's docs/protocol, found by
// walking up from the working directory to go.mod. It fails the test if the
// schemas cannot be loaded.
func Default(t testing.TB) *Validator {
	t.Helper()
	defaultOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			defaultErr = err
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				defaultV, defaultErr = Load(filepath.Join(dir, "docs", "protocol"))
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				defaultErr = errors.New("protocoltest: go.mod not found above the working directory")
				return
			}
			dir = parent
		}
	})
	if defaultErr != nil {
		t.Fatalf("load protocol schemas: %v", defaultErr)
	}
	return defaultV
}

// Has reports whether a schema file exists for a message type.
func (v *Validator) Has(typ string) bool { return v.files[typ] }

// schema compiles (once) the definition def of typ's file.
func (v *Validator) schema(typ, def string) (*jsonschema.Schema, error) {
	key := typ + "#" + def
	v.mu.Lock()
	defer v.mu.Unlock()
	if s, ok := v.cache[key]; ok {
		return s, nil
	}
	if !v.files[typ] {
		return nil, fmt.Errorf("no schema file docs/protocol/%s.json", typ)
	}
	s, err := v.c.Compile(v.base + typ + ".json#/$defs/" + def)
	if err != nil {
		return nil, fmt.Errorf("schema %s.json has no usable $defs/%s: %w", typ, def, err)
	}
	v.cache[key] = s
	return s, nil
}

// validate checks data against typ's def and records it as seen.
func (v *Validator) validate(typ, def string, data []byte) error {
	s, err := v.schema(typ, def)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%s.json#/$defs/%s: %w", typ, def, err)
	}
	v.mu.Lock()
	v.seen[typ+"#"+def]++
	v.mu.Unlock()
	return nil
}

// Seen lists the "<type>#<def>" pairs validated so far, sorted.
func (v *Validator) Seen() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make([]string, 0, len(v.seen))
	for k := range v.seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stream validates the frames of one connection (it remembers request ids
// to pick the reply schema). Safe for concurrent use.
type Stream struct {
	v      *Validator
	ignore []string // areas not validated (test-only message types)
	mu     sync.Mutex
	reqs   map[string]string // request id → type
}

// Stream starts validating a new connection. Message types starting with
// one of the ignored prefixes (test-only areas such as "test.") are not
// validated; their acks are checked against ack.json.
func (v *Validator) Stream(ignore ...string) *Stream {
	return &Stream{v: v, ignore: ignore, reqs: map[string]string{}}
}

// ignored reports whether typ belongs to an ignored area.
func (s *Stream) ignored(typ string) bool {
	for _, p := range s.ignore {
		if strings.HasPrefix(typ, p) {
			return true
		}
	}
	return false
}

// head is the part of an envelope that picks the schema.
type head struct {
	ID   string `json:"id"`
	Re   string `json:"re"`
	Type string `json:"type"`
}

// Check validates one frame going in direction dir.
func (s *Stream) Check(dir client.Direction, data []byte) error {
	var h head
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("frame is not a JSON envelope: %w", err)
	}
	if dir == client.Sent {
		if h.ID != "" {
			s.mu.Lock()
			s.reqs[h.ID] = h.Type
			s.mu.Unlock()
		}
		if s.ignored(h.Type) {
			return nil
		}
		return s.v.validate(h.Type, "request", data)
	}
	switch h.Type {
	case "ack":
		s.mu.Lock()
		req := s.reqs[h.Re]
		s.mu.Unlock()
		if req == "" {
			return fmt.Errorf("ack for unknown request id %q", h.Re)
		}
		if s.v.files[req] {
			if _, err := s.v.schema(req, "reply"); err == nil {
				return s.v.validate(req, "reply", data)
			}
		}
		return s.v.validate("ack", "reply", data)
	case "error":
		return s.v.validate("error", "event", data)
	default:
		if s.ignored(h.Type) {
			return nil
		}
		return s.v.validate(h.Type, "event", data)
	}
}

// Options returns client options whose OnFrame validates every frame and
// reports violations with t.Errorf (safe from the client's goroutines).
// ignore lists test-only areas (see Stream).
func Options(t testing.TB, v *Validator, ignore ...string) client.Options {
	st := v.Stream(ignore...)
	return client.Options{OnFrame: func(dir client.Direction, data []byte) {
		if err := st.Check(dir, data); err != nil {
			what := "received"
			if dir == client.Sent {
				what = "sent"
			}
			t.Errorf("protocol schema violation (%s): %v\nframe: %s", what, err, truncate(data))
		}
	}}
}

// truncate shortens a frame for an error message.
func truncate(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// Compile compiles typ.json#/$defs/def, reporting schema errors.
func (v *Validator) Compile(typ, def string) error {
	_, err := v.schema(typ, def)
	return err
}
