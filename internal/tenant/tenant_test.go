package tenant

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"demo", true},
		{"fosdem-2026", true},
		{"0day", true},
		{"", false},
		{"-x", false},
		{"Demo", false},
		{"a.b", false},
		{"a/b", false},
		{"a b", false},
		{"ü", false},
		{strings.Repeat("a", MaxLen), true},
		{strings.Repeat("a", MaxLen+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			id, err := Parse(tt.in)
			if tt.ok {
				if err != nil || id.String() != tt.in || !id.Valid() {
					t.Fatalf("Parse(%q) = %q, %v", tt.in, id, err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) err = %v, want ErrInvalid", tt.in, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("demo")
	f.Add("-")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err == nil && string(id) != s {
			t.Fatalf("Parse changed %q to %q", s, id)
		}
	})
}
