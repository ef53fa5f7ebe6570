package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		in   string
		code int // 0: accepted
	}{
		{"request", `{"v":1,"id":"c1","type":"chat.send","room":"main","data":{"text":"hi"}}`, 0},
		{"no data", `{"v":1,"type":"ping"}`, 0},
		{"not json", `hello`, CodeMalformed},
		{"array", `[1,2]`, CodeMalformed},
		{"unknown field", `{"v":1,"type":"ping","admin":true}`, CodeMalformed},
		{"trailing data", `{"v":1,"type":"ping"}{"v":1}`, CodeMalformed},
		{"wrong version", `{"v":2,"type":"ping"}`, CodeUnsupportedVersion},
		{"no version", `{"type":"ping"}`, CodeUnsupportedVersion},
		{"no type", `{"v":1}`, CodeMalformed},
		{"long id", `{"v":1,"type":"ping","id":"` + strings.Repeat("x", 65) + `"}`, CodeMalformed},
		{"oversize", `{"v":1,"type":"ping","data":"` + strings.Repeat("x", MaxFrame) + `"}`, CodeFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, perr := Decode([]byte(tt.in))
			if tt.code == 0 {
				if perr != nil || e == nil {
					t.Fatalf("Decode = %v, %v; want accepted", e, perr)
				}
				return
			}
			if perr == nil || perr.Code != tt.code {
				t.Fatalf("Decode error = %v; want code %d", perr, tt.code)
			}
			if perr.Message == "" {
				t.Fatal("error without a message")
			}
		})
	}
}

func TestDecodeDataStrict(t *testing.T) {
	e, perr := Decode([]byte(`{"v":1,"type":"chat.send","data":{"text":"hi","extra":1}}`))
	if perr != nil {
		t.Fatal(perr)
	}
	var p struct {
		Text string `json:"text"`
	}
	if err := DecodeData(e, &p); err == nil || err.Code != CodeInvalidPayload {
		t.Fatalf("DecodeData = %v; want CodeInvalidPayload for an unknown field", err)
	}
	e.Data = nil
	if err := DecodeData(e, &p); err != nil {
		t.Fatalf("empty data decodes as {}: %v", err)
	}
}

// FuzzDecode: any input either decodes to an envelope that re-encodes with
// the same type and version, or is refused with a protocol error — never a
// panic.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"v":1,"id":"c1","type":"chat.send","room":"main","data":{"text":"hi"}}`))
	f.Add([]byte(`{"v":1,"type":"ping","seq":18446744073709551615}`))
	f.Add([]byte(`{"v":1,"type":"x","data":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, perr := Decode(b)
		if (e == nil) == (perr == nil) {
			t.Fatalf("Decode returned envelope %v and error %v", e, perr)
		}
		if perr != nil {
			if perr.Code < 4000 || perr.Code > 4599 {
				t.Fatalf("code %d outside the protocol range", perr.Code)
			}
			return
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, perr := Decode(out)
		if perr != nil && len(out) <= MaxFrame {
			t.Fatalf("re-encoded envelope refused: %v (%s)", perr, out)
		}
		if perr == nil && (again.Type != e.Type || again.V != e.V) {
			t.Fatalf("round trip changed the envelope: %+v vs %+v", again, e)
		}
	})
}
